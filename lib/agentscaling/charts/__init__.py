"""Altair charts for scaling laws. Functions return charts; notebooks save them with
report.save_chart. `scaling`: the paper's 3-panel figure, isoFLOP profiles, residuals, bootstrap
histograms. `explorer`: the client-side coefficient explorer and the ipywidgets refit control."""
