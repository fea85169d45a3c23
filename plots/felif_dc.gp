# felif_dc.gp - FeLIF response to a constant current (EXPERIMENTS E4):
# membrane voltage and polarization vs time, spikes marked.
# Reads `data`: the CSV of `bruno-bench trace` (neuron,step,t,v,p,s,I).
if (!exists("data")) data = "results/felif_dc.csv"
W = 900; H = 650
load "plots/common.gp"
stats data using 7 skip 1 nooutput name "I"
stats data using 3 skip 1 nooutput name "T"
set multiplot layout 2,1 title sprintf("FeLIF neuron, constant input %.0f pA (network step %g ms)", I_mean*1e12, T_min*1e3)
set lmargin 12
set key top left Left reverse opaque box
set ylabel "membrane voltage v [V]"
set format x ""
plot data using ($3*1e3):4 skip 1 with lines lw 2 lc rgb "#1f77b4" title "v", \
     data using ($3*1e3):($6 > 0 ? $4 : 1/0) skip 1 with points pt 7 ps 1.2 lc rgb "#d62728" title "spike (v ≥ V_{thr})"
set format x "%g"
set xlabel "time [ms]"
set ylabel "polarization p [C/m^2]"
plot data using ($3*1e3):5 skip 1 with lines lw 2 lc rgb "#2ca02c" title "p"
unset multiplot
