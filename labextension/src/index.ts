/**
 * The notebook half of claude_magic.
 *
 * The kernel opens a `claude_magic` comm when `%load_ext claude_magic` runs; this extension registers
 * that target and answers `ready`, which is how the kernel learns the frontend has it (without the
 * extension the comm is refused and the magic works as before). Over the comm:
 *   kernel → page  {type: 'hello', token}               answers `ready`: the kernel's token, which names
 *                                                       its answer streams (also in the comm's open data)
 *                  {type: 'failed', cell_id}            a cell failed: show "Fix with Claude" / "Explain"
 *                  {type: 'propose', proposal}          Claude proposes a new source for a cell: a diff
 *                  {type: 'stream', n, ops | end}       an answer streaming into its output (stream.ts)
 *   page → kernel  {type: 'fix' | 'explain', cell_id}   a click; the answer streams back as the outputs
 *                                                       of that comm message, shown under the error
 *                  {type: 'decision', id, outcome}      accepted / rejected / gone, for the history
 * Nothing is sent to the kernel before a click. Text from the kernel is put in the page as text
 * (textContent), never as HTML — except the answer itself, which JupyterLab's markdown renderer renders
 * as it renders any markdown output.
 * A page opened after the magic was loaded (a reload) finds the kernel's comm by asking for comm info,
 * as the widget manager finds its widgets.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { Cell, CodeCell, ICodeCellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { PanelLayout, Widget } from '@lumino/widgets';
import { IPlace, MIME, StreamRenderer, Streams } from './stream';

const TARGET = 'claude_magic';
const PROTOCOL = 1;

/** One proposed edit, as the kernel sends it. */
interface IProposal {
  id: string;
  cell_id: string | null;
  label: string;
  old: string;
  new: string;
  diff: string;
}

/** A row of small buttons. */
function buttons(specs: Array<[string, string, () => void]>): HTMLElement {
  const row = document.createElement('div');
  row.className = 'jp-ClaudeMagic-buttons';
  for (const [label, kind, onClick] of specs) {
    const button = document.createElement('button');
    button.className = `jp-ClaudeMagic-button jp-mod-styled jp-ClaudeMagic-${kind}`;
    button.textContent = label;
    button.addEventListener('click', onClick);
    row.appendChild(button);
  }
  return row;
}

/** The cell with this nbformat id, or undefined (deleted, or never in this notebook). */
function findCell(panel: NotebookPanel, cellId: string | null): Cell | undefined {
  if (!cellId) {
    return undefined;
  }
  return panel.content.widgets.find(cell => cell.model.id === cellId);
}

/** Put `widget` in the cell, under its outputs (above the cell's footer). */
function attach(cell: Cell, widget: Widget): void {
  const layout = cell.layout as PanelLayout;
  layout.insertWidget(Math.max(layout.widgets.length - 1, 0), widget);
}

/** "Fix with Claude" and "Explain" under a failed cell's error; the answer streams in below them. */
class FailureBar extends Widget {
  constructor(
    private readonly connection: NotebookConnection,
    private readonly cell: CodeCell
  ) {
    super();
    this.addClass('jp-ClaudeMagic-failure');
    const layout = (this.layout = new PanelLayout());
    layout.addWidget(
      new Widget({
        node: buttons([
          ['✦ Fix with Claude', 'fix', () => this.ask('fix')],
          ['Explain', 'explain', () => this.ask('explain')]
        ])
      })
    );
  }

  private ask(kind: 'fix' | 'explain'): void {
    const comm = this.connection.comm;
    if (!comm || comm.isDisposed) {
      return;
    }
    this.node.querySelectorAll('button').forEach(button => (button.disabled = true));
    const model = new OutputAreaModel({ trusted: true });
    const area = new OutputArea({ model, rendermime: this.connection.panel.content.rendermime });
    area.addClass('jp-ClaudeMagic-answer');
    (this.layout as PanelLayout).addWidget(area);
    const future = comm.send({ type: kind, cell_id: this.cell.model.id }, {}, [], true);
    // The kernel answers in the outputs of this comm message: the same streaming view a cell gets.
    area.future = future as unknown as Kernel.IShellFuture<
      KernelMessage.IExecuteRequestMsg,
      KernelMessage.IExecuteReplyMsg
    >;
    void future.done
      .catch(() => undefined)
      .then(() => {
        // The answer becomes the failed cell's own output, so it is saved with the notebook; once
        // the cell runs again (fixed), it goes with the error it was about.
        for (const output of model.toJSON()) {
          this.cell.model.outputs.add(output);
        }
        area.dispose();
        model.dispose();
        this.node.querySelectorAll('button').forEach(button => (button.disabled = false));
      });
  }
}

/** A proposed edit on its cell: the diff, Accept / Reject, and Accept all when there are others. */
class ProposalBar extends Widget {
  constructor(
    private readonly connection: NotebookConnection,
    private readonly cell: Cell,
    readonly proposal: IProposal
  ) {
    super();
    this.addClass('jp-ClaudeMagic-proposal');
    const title = document.createElement('div');
    title.className = 'jp-ClaudeMagic-title';
    title.textContent = `Claude proposes a new version of cell ${proposal.label}`;
    this.node.appendChild(title);
    if (cell.model.sharedModel.getSource() !== proposal.old) {
      const note = document.createElement('div');
      note.className = 'jp-ClaudeMagic-note';
      note.textContent =
        'The cell has changed since Claude read it: Accept replaces what it holds now.';
      this.node.appendChild(note);
    }
    const pre = document.createElement('pre');
    pre.className = 'jp-ClaudeMagic-diff';
    for (const line of proposal.diff.split('\n')) {
      const span = document.createElement('span');
      span.textContent = line + '\n';
      if (line.startsWith('+') && !line.startsWith('+++')) {
        span.className = 'jp-ClaudeMagic-added';
      } else if (line.startsWith('-') && !line.startsWith('---')) {
        span.className = 'jp-ClaudeMagic-removed';
      } else if (line.startsWith('@@')) {
        span.className = 'jp-ClaudeMagic-hunk';
      }
      pre.appendChild(span);
    }
    this.node.appendChild(pre);
    this.node.appendChild(
      buttons([
        ['Accept', 'accept', () => this.accept()],
        ['Reject', 'reject', () => this.decide('rejected')],
        ['Accept all', 'accept-all', () => connection.acceptAll()]
      ])
    );
  }

  accept(): void {
    // One transaction of the shared model: one undo step, so Ctrl-Z brings the old source back.
    // The cell is not run.
    this.cell.model.sharedModel.setSource(this.proposal.new);
    this.decide('accepted');
  }

  decide(outcome: 'accepted' | 'rejected'): void {
    this.connection.decided(this, outcome);
  }
}

/** One notebook's link to its kernel's magic, while the magic's comm is open. */
class NotebookConnection {
  comm: Kernel.IComm | null = null;
  private token = '';
  private proposals: ProposalBar[] = [];
  private failures = new Map<string, FailureBar>();

  constructor(
    readonly panel: NotebookPanel,
    private readonly streams: Streams
  ) {
    panel.sessionContext.kernelChanged.connect(() => this.watch());
    void panel.sessionContext.ready.then(() => this.watch());
    this.watch();
  }

  private watch(): void {
    const kernel = this.panel.sessionContext.session?.kernel;
    if (!kernel) {
      return;
    }
    // Registering twice for the same connection is harmless: the later callback wins.
    kernel.registerCommTarget(TARGET, (comm, msg) => this.opened(comm, msg.content.data));
    // The magic may have been loaded before this page opened: its comm is then already there.
    void kernel
      .requestCommInfo({ target_name: TARGET })
      .then(reply => {
        const comms = (reply.content as any).comms ?? {};
        for (const id of Object.keys(comms)) {
          if (comms[id]?.target_name === TARGET && !kernel.hasComm(id) && this.comm?.commId !== id) {
            this.opened(kernel.createComm(TARGET, id), {});
          }
        }
      })
      .catch(() => undefined);
  }

  private opened(comm: Kernel.IComm, data: any): void {
    this.close();
    this.comm = comm;
    this.known(data?.token);
    comm.onMsg = message => this.received(message.content.data as any);
    comm.onClose = () => {
      if (this.comm === comm) {
        this.close();
      }
    };
    comm.send({ type: 'ready', protocol: PROTOCOL });
  }

  /** The magic is gone (kernel restarted, extension unloaded): so are its buttons. */
  private close(): void {
    this.comm = null;
    for (const bar of this.failures.values()) {
      bar.dispose();
    }
    this.failures.clear();
    for (const bar of this.proposals) {
      bar.dispose();
    }
    this.proposals = [];
  }

  private received(data: any): void {
    if (!data || typeof data !== 'object') {
      return;
    }
    if (data.type === 'stream') {
      this.streams.receive(this.token, data, id => this.outputsOf(id));
    } else if (data.type === 'hello') {
      this.known(data.token);
    } else if (data.type === 'failed') {
      this.failed(String(data.cell_id ?? ''));
    } else if (data.type === 'propose' && data.proposal) {
      this.propose(data.proposal as IProposal);
    }
  }

  private known(token: unknown): void {
    if (typeof token === 'string' && token) {
      this.token = token;
      this.streams.open(token);
    }
  }

  /** Where this notebook shows stream `id`: each output area (and index) holding its output. */
  private outputsOf(id: string): IPlace[] {
    const found: IPlace[] = [];
    for (const cell of this.panel.content.model?.cells ?? []) {
      if (cell.type !== 'code') {
        continue;
      }
      const area = (cell as ICodeCellModel).outputs;
      for (let index = 0; index < area.length; index++) {
        if ((area.get(index).data[MIME] as any)?.id === id) {
          found.push({ area, index });
        }
      }
    }
    return found;
  }

  private failed(cellId: string): void {
    const cell = findCell(this.panel, cellId);
    if (!(cell instanceof CodeCell) || this.failures.has(cellId)) {
      return;
    }
    const bar = new FailureBar(this, cell);
    this.failures.set(cellId, bar);
    attach(cell, bar);
    // The buttons are about this error: when the cell's outputs are cleared (it runs again), they go.
    const outputs = cell.model.outputs;
    const onChange = () => {
      if (outputs.length === 0) {
        outputs.changed.disconnect(onChange);
        bar.dispose();
      }
    };
    outputs.changed.connect(onChange);
    bar.disposed.connect(() => {
      outputs.changed.disconnect(onChange);
      if (this.failures.get(cellId) === bar) {
        this.failures.delete(cellId);
      }
    });
  }

  private propose(proposal: IProposal): void {
    const cell = findCell(this.panel, proposal.cell_id);
    if (!cell) {
      Notification.warning(
        `Claude proposed a new version of cell ${proposal.label}, which is no longer in this notebook: nothing was changed.`,
        { autoClose: 8000 }
      );
      this.comm?.send({ type: 'decision', id: proposal.id, outcome: 'gone' });
      return;
    }
    // A second proposal for the same cell replaces the first, unseen one.
    for (const bar of this.proposals.filter(bar => bar.proposal.cell_id === proposal.cell_id)) {
      this.remove(bar);
    }
    const bar = new ProposalBar(this, cell, proposal);
    this.proposals.push(bar);
    attach(cell, bar);
    this.updateCount();
  }

  decided(bar: ProposalBar, outcome: 'accepted' | 'rejected'): void {
    this.comm?.send({ type: 'decision', id: bar.proposal.id, outcome });
    this.remove(bar);
    this.updateCount();
  }

  acceptAll(): void {
    for (const bar of [...this.proposals]) {
      bar.accept();
    }
  }

  private remove(bar: ProposalBar): void {
    this.proposals = this.proposals.filter(other => other !== bar);
    bar.dispose();
  }

  /** Accept all shows only where there is more than one proposal to accept. */
  private updateCount(): void {
    for (const bar of this.proposals) {
      bar.node.classList.toggle('jp-ClaudeMagic-several', this.proposals.length > 1);
    }
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'claude-magic:plugin',
  description:
    'Fix with Claude on errors, Claude\'s edits of your cells as diffs you accept, and answers streamed cheaply.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, notebooks: INotebookTracker, rendermime: IRenderMimeRegistry) => {
    const streams = new Streams();
    // Added before any notebook opens: each notebook's registry is a clone of this one.
    rendermime.addFactory(
      { safe: true, mimeTypes: [MIME], createRenderer: options => new StreamRenderer(options, streams) },
      0
    );
    notebooks.widgetAdded.connect((_, panel) => {
      new NotebookConnection(panel, streams);
    });
  }
};

export default plugin;
