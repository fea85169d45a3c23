# braille_acc.gp - EXPERIMENTS E2: test accuracy vs epoch, a panel per bit
# width (FP32, 8, 4, 3 bit), a line per model: LIF, RLIF, FeLIF and
# Heracles output trained with BRUNO, and the coarse-only FeLIF (FP32 only) tested on the
# device (fine) model and on the coarse model it was trained on. The 3-bit
# panel also shows the runs on 3-bit RRAM devices (bits "3rram"), dashed.
# Reads dir/braille_curves.csv (plots/train_tables.py: mean over seeds,
# shaded +- s.d.); chance = 1/27.
W = 1200; H = 850
load "plots/common.gp"
if (!exists("dir")) dir = "results/train"
f = dir."/braille_curves.csv"
set multiplot layout 2,2 title "Braille letters (27 classes, raw 1350-sample file): test accuracy, mean {/Symbol \261} s.d. over seeds"
set xlabel "epoch"
set ylabel "test accuracy [%]"
set yrange [0:100]
set key bottom right font ",9"
set style fill transparent solid 0.18 noborder
models = "lif_bruno rlif_bruno felif_bruno heracles_bruno felif_coarse felif_coarse_test_acc_coarse"
labels = "'LIF hidden, LIF out' 'RLIF hidden, LIF out' 'LIF hidden, FeLIF out (BRUNO)' 'LIF hidden, Heracles out (BRUNO)' 'FeLIF out, coarse only (fine-model test)' 'FeLIF out, coarse only (coarse-model test)'"
colours = "#1f77b4 #2ca02c #d62728 #9467bd #7f7f7f #bcbd22"
# the bits column as text: "3rram" must not read as 3
sel(m, b) = (strcol(1) eq m && strcol(2) eq b)
do for [b in "32 8 4 3"] {
    set title (b eq "32" ? "FP32" : (b eq "3" ? "3 bit weights (dashed: 3-bit RRAM devices)" : b." bit weights"))
    if (b ne "32") { unset key }
    rr = (b eq "3" ? "3rram" : "none")
    plot for [i=1:6] f every ::1 using 3:(sel(word(models,i), b) ? $5-$6 : NaN):(sel(word(models,i), b) ? $5+$6 : NaN) \
            with filledcurves lc rgb word(colours,i) notitle, \
         for [i=1:6] f every ::1 using 3:(sel(word(models,i), b) ? $5 : NaN) \
            with linespoints pt 7 ps 0.5 lw 2 lc rgb word(colours,i) title word(labels,i), \
         for [i=1:6] f every ::1 using 3:(sel(word(models,i), rr) ? $5 : NaN) \
            with linespoints pt 6 ps 0.5 lw 2 dt 2 lc rgb word(colours,i) notitle, \
         100.0/27 with lines dt 2 lc rgb "#999999" title "chance 1/27"
}
unset multiplot
