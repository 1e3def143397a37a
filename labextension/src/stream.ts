/**
 * The stream renderer: an answer's output the kernel appends to, over the `claude_magic` comm.
 *
 * The kernel displays one output of type `MIME` ({id, text}: the stream's id and its first status
 * line), then sends what changed at each throttled update (claude_magic/view/renderer_surface.py has
 * the protocol). The text lives here, in the page: finished segments are rendered once each, and only the
 * tail is rendered again, with JupyterLab's own markdown renderer (its parser, sanitizer for untrusted
 * output, math and code highlighting), so the stream looks as the final output will. At the end the
 * kernel says what the output holds for good, and a static markdown display takes the stream's place in
 * its output area: the notebook saves it, and the kernel never sends the answer a second time.
 */

import * as nbformat from '@jupyterlab/nbformat';
import { IOutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMime, renderMarkdown } from '@jupyterlab/rendermime';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

export const MIME = 'application/vnd.claude-magic.stream+json';

type Op = ['t', number, string] | ['z'] | ['r', number];

/** Where an output is: its output area's model, and its index there. */
export interface IPlace {
  area: IOutputAreaModel;
  index: number;
}

/** What the output holds for good, as the kernel says it at the end. */
interface IEnd {
  markdown: Array<[number, number] | string>;
  plain: [number, string];
}

/** One stream's text as the page holds it: sealed segments and the tail. */
export class Stream {
  segments: string[] = [];
  tail = '';
  /** The output models showing this stream (one per view of the notebook): given the static bundle. */
  readonly models = new Set<IRenderMime.IMimeModel>();
  readonly changed = new Signal<Stream, void>(this);

  constructor(readonly id: string) {}

  apply(ops: Op[]): void {
    for (const op of ops) {
      if (op[0] === 't') {
        this.tail = this.tail.slice(0, op[1]) + op[2];
      } else if (op[0] === 'z') {
        this.segments.push(this.tail);
        this.tail = '';
      } else if (op[0] === 'r' && op[1] < this.segments.length) {
        this.tail = this.segments[op[1]];
        this.segments.length = op[1];
      }
    }
    this.changed.emit();
  }

  /** The segments and the tail, one after another, as the kernel joins them. */
  text(): string {
    return [...this.segments, this.tail].filter(part => part).join('\n\n');
  }

  /** The static bundle: stretches of the page's text and the kernel's texts between them. */
  finish(end: IEnd): IRenderMime.IMimeModel['data'] {
    const text = this.text();
    const markdown = end.markdown
      .map(piece => (typeof piece === 'string' ? piece : text.slice(piece[0], piece[0] + piece[1])))
      .join('');
    const plain = markdown.slice(0, end.plain[0]) + end.plain[1];
    return { 'text/markdown': markdown, 'text/plain': plain };
  }
}

/** The page's streams, by id (`kernel token:number`), and the kernels whose streams can still come. */
export class Streams {
  private streams = new Map<string, Stream>();
  private live = new Set<string>();

  /** A kernel's comm is open in this page: its streams will be fed. */
  open(token: string): void {
    this.live.add(token);
  }

  isLive(id: string): boolean {
    return this.live.has(id.split(':')[0]);
  }

  get(id: string): Stream {
    let stream = this.streams.get(id);
    if (!stream) {
      stream = new Stream(id);
      this.streams.set(id, stream);
    }
    return stream;
  }

  /**
   * A comm message of a kernel's stream. `outputs` finds where the stream's output is in the notebook. At
   * the end the static bundle replaces that output in its output area (one render, as the kernel's own
   * update of a display would); an output only a renderer knows (an answer under an error, before it
   * joins the cell) gets it in its model instead.
   */
  receive(token: string, data: any, outputs: (id: string) => IPlace[]): void {
    const id = `${token}:${Number(data.n)}`;
    let stream = this.streams.get(id);
    if (!stream) {
      // No renderer has shown it (the cell shows its first 50 outputs only): its first text is the output's.
      stream = this.get(id);
      const place = outputs(id)[0];
      const first = place?.area.get(place.index).data[MIME] as { text?: string } | undefined;
      stream.tail = String(first?.text ?? '');
    }
    if (Array.isArray(data.ops)) {
      stream.apply(data.ops as Op[]);
    }
    if (data.end && Array.isArray(data.end.markdown)) {
      const bundle = stream.finish(data.end as IEnd);
      this.streams.delete(id);
      const places = outputs(id);
      const output = { output_type: 'display_data', data: bundle as nbformat.IMimeBundle, metadata: {} };
      for (const place of places) {
        place.area.set(place.index, output);
      }
      if (!places.length) {
        for (const model of stream.models) {
          model.setData({ data: bundle });
        }
      }
    }
  }
}

/** Renders a stream's segments and tail as markdown, the way JupyterLab renders a markdown output. */
export class StreamRenderer extends Widget implements IRenderMime.IRenderer {
  private stream: Stream | null = null;
  private model: IRenderMime.IMimeModel | null = null;
  private hosts: HTMLElement[] = [];
  private shown: string[] = []; // what each host shows
  private rendering = false;
  private again = false;

  constructor(
    private readonly options: IRenderMime.IRendererOptions,
    private readonly streams: Streams
  ) {
    super();
    this.addClass('jp-ClaudeMagic-stream');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = (model.data[MIME] ?? {}) as { id?: string; text?: string };
    const id = String(data.id ?? '');
    if (this.stream?.id !== id) {
      this.detach();
      this.stream = this.streams.get(id);
      if (!this.stream.segments.length && !this.stream.tail) {
        this.stream.tail = String(data.text ?? ''); // until the kernel's first update arrives
      }
      this.stream.changed.connect(this.update, this);
    }
    this.model = model;
    this.stream.models.add(model);
    if (!this.streams.isLive(id)) {
      // Saved while it streamed, and reopened: the kernel that was writing it is gone from this page.
      this.node.textContent =
        'This answer was still streaming when the notebook was saved, so its text is not in the saved notebook: run the cell again.';
      this.node.classList.add('jp-ClaudeMagic-note');
      return;
    }
    await this.render();
  }

  protected onUpdateRequest(): void {
    void this.render();
  }

  dispose(): void {
    this.detach();
    super.dispose();
  }

  private detach(): void {
    if (this.stream) {
      this.stream.changed.disconnect(this.update, this);
      if (this.model) {
        this.stream.models.delete(this.model);
      }
    }
  }

  /** Bring the hosts up to the stream: new segments once each, the tail again; one render at a time. */
  private async render(): Promise<void> {
    if (this.rendering) {
      this.again = true;
      return;
    }
    this.rendering = true;
    try {
      do {
        this.again = false;
        const stream = this.stream;
        if (!stream || this.isDisposed) {
          return;
        }
        const parts = [...stream.segments, stream.tail];
        while (this.hosts.length > parts.length) {
          this.hosts.pop()!.remove();
          this.shown.pop();
        }
        for (let index = 0; index < parts.length; index++) {
          if (index === this.hosts.length) {
            const host = document.createElement('div');
            host.className = 'jp-RenderedHTMLCommon jp-RenderedMarkdown';
            this.node.appendChild(host);
            this.hosts.push(host);
            this.shown.push('');
          }
          if (this.shown[index] !== parts[index]) {
            this.shown[index] = parts[index];
            await this.markdown(this.hosts[index], parts[index]);
          }
        }
      } while (this.again);
    } finally {
      this.rendering = false;
    }
  }

  private markdown(host: HTMLElement, source: string): Promise<void> {
    const options = this.options;
    return renderMarkdown({
      host,
      source,
      trusted: this.model?.trusted ?? false,
      sanitizer: options.sanitizer,
      resolver: options.resolver,
      linkHandler: options.linkHandler,
      shouldTypeset: this.isAttached,
      latexTypesetter: options.latexTypesetter,
      markdownParser: options.markdownParser ?? null,
      translator: options.translator
    });
  }
}
