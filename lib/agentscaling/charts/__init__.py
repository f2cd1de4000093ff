"""Altair charts and frame pictures. Functions return charts (or images) and never save them; the
notebooks save them through agentscaling.reports.

    scaling     the paper's 3-panel figure, isoFLOP profiles, residuals, bootstrap histograms
    explorer    the client-side coefficient explorer and the ipywidgets refit control
    studies     each study's figure, a against tokens per frame (Fig. 16), the extrapolation (Fig. 9)
    data        action entropy (notebook 01), tokenizer quality per level (notebook 02)
    images      PNG frame grids: the arena's contact sheet, tokenizer reconstructions
"""
