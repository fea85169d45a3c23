# e1_time.gp - E1 (b): wall time of one training step (forward + backward)
# vs sequence length, one panel per hidden size.
ycol = 16; yscale = 1.0
ylab = "time per training step [s]"
what = "E1 wall time of one training step"
load "plots/e1_grid.gp"
