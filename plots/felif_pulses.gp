# felif_pulses.gp - FeLIF response to +-current pulses for a population with
# device-to-device variability (EXPERIMENTS E4).
# Reads `data`: the CSV of `bruno-bench trace --pulses --neurons N --sigma S`
# (rows step-major: neuron,step,t,v,p,s,I). `sigma` is only used in the title.
if (!exists("data")) data = "results/felif_pulses.csv"
if (!exists("sigma")) sigma = -1
W = 900; H = 850
load "plots/common.gp"
stats data using 1 skip 1 nooutput name "NEUR"
n = int(NEUR_max) + 1
ttl = sprintf("FeLIF population: %d neurons", n)
if (sigma >= 0) ttl = ttl . sprintf(", %.0f %% device-to-device variability", sigma*100)
set multiplot layout 3,1 title ttl
set lmargin 12
set key top right Left reverse opaque box
set format x ""
set ylabel "input I [nA]"
set yrange [-1.3:1.3]
plot data using ($3*1e3):($7*1e9) every n skip 1 with fsteps lw 2 lc rgb "black" title "input current (neuron 0)"
set autoscale y
set ylabel "membrane voltage v [V]"
plot for [j=0:n-1] data using ($3*1e3):4 every n::j skip 1 with lines lw 1 lc rgb "#801f77b4" notitle, \
     data using ($3*1e3):4 skip 1 smooth unique with lines lw 3 lc rgb "#d62728" title "population mean", \
     NaN with lines lw 1 lc rgb "#1f77b4" title "single neurons"
set format x "%g"
set xlabel "time [ms]"
set ylabel "polarization p [C/m^2]"
plot for [j=0:n-1] data using ($3*1e3):5 every n::j skip 1 with lines lw 1 lc rgb "#802ca02c" notitle, \
     data using ($3*1e3):5 skip 1 smooth unique with lines lw 3 lc rgb "#d62728" title "population mean", \
     NaN with lines lw 1 lc rgb "#2ca02c" title "single neurons"
unset multiplot
