"""What runs over time, without Qt: the journal watch, the sync loops, the headless desk.

The window (app/ui) and `dispatch-desk run` use the same parts; the window only turns their
callbacks into Qt signals.
"""
