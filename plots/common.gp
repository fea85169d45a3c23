# common.gp - terminal set-up shared by the plot scripts.
# The caller sets: fmt ("png" or "svg"), out (output file), W, H (pixels).
# PNG uses pngcairo when this gnuplot has it (gnuplot-nox on Debian does),
# else the libgd png terminal.
if (!exists("fmt")) fmt = "png"
if (fmt eq "svg") {
    set terminal svg size W, H dynamic enhanced font "Helvetica,13" background rgb "white"
} else {
    if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
        set terminal pngcairo size W, H enhanced font "Helvetica,11" background rgb "white"
    } else {
        set terminal png size W, H enhanced font "Helvetica,11" background rgb "white"
    }
}
set output out
set datafile separator comma
set grid lc rgb "#dddddd"
set border lc rgb "#444444"
