"""The View layer: what the page shows (answers, blocks, tables, footers, progress) and the escaping and
fence parsing they share.

Nothing here makes a request or touches a store; the page knows nothing of requests. This package imports
nothing itself, so importing one view module stays cheap.
"""
