# jsb_loss.gp - EXPERIMENTS E3: test BCE (and train BCE, dashed) vs epoch
# for FeLIF trained with BRUNO, FeLIF with exact BPTT, and the SNU
# baseline; the authors' BRUNO run after epochs 1 and 19 as points (their
# values are read from reference/paper.csv). Reads dir/jsb_curves.csv.
W = 1000; H = 620
load "plots/common.gp"
if (!exists("dir")) dir = "results/train"
if (!exists("ref")) ref = "reference/paper.csv"
f = dir."/jsb_curves.csv"
set title "JSB chorales: mean sigmoid BCE per key and step (test split solid, train dashed)"
set xlabel "epoch"
set ylabel "BCE [nats]"
set key top right
models = "felif_bruno felif_bptt snu_bruno"
labels = "'FeLIF, BRUNO' 'FeLIF, exact BPTT' 'SNU (recurrent LIF)'"
colours = "#d62728 #1f77b4 #2ca02c"
sel(m) = (strcol(1) eq m)
plot for [i=1:3] f every ::1 using 2:(sel(word(models,i)) ? $5 : NaN) with linespoints pt 7 ps 0.6 lw 2 \
        lc rgb word(colours,i) title word(labels,i)." test", \
     for [i=1:3] f every ::1 using 2:(sel(word(models,i)) ? $4 : NaN) with lines dt 2 lw 1.5 \
        lc rgb word(colours,i) title word(labels,i)." train", \
     ref every ::1 using (strcol(1) eq "E3" ? $5 : NaN):(strcol(1) eq "E3" && strcol(2) eq "test_bce" ? $6 : NaN) with points pt 5 ps 1.4 \
        lc rgb "black" title "authors' BRUNO run (paper)"
