"""The notebooks' back-ends, by paper section. Each notebook cell calls one of these functions.

sections          which studies each notebook runs
runs              prepare data and sweep a notebook's studies; epochs, wall times, plan tables
fits              fit every study with every method; coefficient tables beside the paper's
claims            the paper's claims in plain words, with the bootstrap evidence behind each
data              notebook 01: the arena dataset, action statistics, the App. A.3.1 budget
tokenizers        notebook 02: one frame tokenizer per compression level, compared
allocation        notebook 04: compute-optimal sizes, per-action compute, BC-CNN's conv FLOPs
extrapolation     notebook 05: the paper's extrapolation check
tokens_per_frame  notebook 07: a against tokens per frame
lr                the paper's learning-rate protocol (notebook 03)
"""
