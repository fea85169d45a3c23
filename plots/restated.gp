# restated.gp - the authors' coarse-only run restated (EXPERIMENTS E2, issue 17):
# test accuracy (left) and training loss (right) per epoch of the authors'
# two curves (BRUNO, coarse only; reference/authors_coarse_curves.csv) and
# ours with their configuration (bench/grid.py RESTATED), quick and long
# scale. Our coarse-only accuracy is the device test (the trained weights on
# the fine model); the coarse model's own is dotted. Reads
# dir/restated_curves.dat (plots/restated.py: gnuplot blocks 0-5).
W = 1200; H = 520
load "plots/common.gp"
set datafile separator whitespace
if (!exists("dir")) dir = "results"
f = dir."/restated_curves.dat"
set multiplot layout 1,2 title "Coarse-only restated: the authors' configuration, BRUNO vs coarse only (same seed)"
set xlabel "epoch"
set logscale x
set key top left font ",9"
names = "'authors, BRUNO' 'authors, coarse only' 'ours quick, BRUNO' 'ours quick, coarse only (device test)' 'ours long, BRUNO' 'ours long, coarse only (device test)'"
colours = "#d62728 #7f7f7f #1f77b4 #ff7f0e #2ca02c #9467bd"
set title "test accuracy"
set ylabel "test accuracy [%]"
set yrange [0:100]
plot for [i=0:5] f index i using 1:2 with linespoints pt 7 ps 0.6 lw 2 lc rgb word(colours,i+1) title word(names,i+1), \
     for [i=3:5:2] f index i using 1:4 with lines dt 3 lw 1.5 lc rgb word(colours,i+1) notitle, \
     100.0/27 with lines dt 2 lc rgb "#999999" title "chance 1/27"
set title "training loss (coarse only: on the coarse model)"
set ylabel "training loss"
set logscale y
set autoscale y
unset key
plot for [i=0:5] f index i using 1:3 with linespoints pt 7 ps 0.6 lw 2 lc rgb word(colours,i+1) notitle
unset multiplot
