// ImageJ 1.x macro for tools/imagej_blot_check.py: ImageJ's own rolling-ball background
// subtraction on a dark-on-light 16-bit blot scan, then the integrated density (RawIntDen)
// of given rectangles.
//
// Argument (one string, fields separated by '|'):  image.tif|boxes.csv|out.csv|radius
//   boxes.csv: header line, then  id,x,y,w,h  (pixels; ImageJ's top-left origin, as numpy)
//   out.csv:   variant,id,n,rawintden;  out.csv.background.tif: the float-inverted background
// Variants (each on a fresh copy of the opened image):
//   float-inverted  32-bit, 65535 - pixel (bands bright), "rolling=R"  (no clipping)
//   16bit-inverted  Edit>Invert (65535 - pixel), "rolling=R"           (result clipped at 0)
//   16bit-light     original dark-on-light, "rolling=R light"           (result = pixel - bg
//                   + 65535, clipped at 65535; the band signal is 65535 * n - rawintden)
// Run: java -jar ij.jar -batch blot_rolling_ball.ijm "a.tif|b.csv|o.csv|50"
//      (under xvfb-run when there is no X display: ImageJ 1.53's run() builds AWT menus)
args = split(getArgument(), "|");
if (args.length < 4) exit("usage: image.tif|boxes.csv|out.csv|radius");
radius = args[3];
setBatchMode(true);
open(args[0]);
orig = getImageID();
lines = split(File.openAsString(args[1]), "\n");
variants = newArray("float-inverted", "16bit-inverted", "16bit-light");
out = "variant,id,n,rawintden\n";
for (v = 0; v < variants.length; v++) {
    selectImage(orig);
    run("Select None");
    run("Duplicate...", "title=work");
    if (v == 0) {
        run("32-bit");
        run("Multiply...", "value=-1");
        run("Add...", "value=65535");
        run("Subtract Background...", "rolling=" + radius);
    } else if (v == 1) {
        run("Invert");
        run("Subtract Background...", "rolling=" + radius);
    } else {
        run("Subtract Background...", "rolling=" + radius + " light");
    }
    for (i = 1; i < lines.length; i++) {
        f = split(lines[i], ",");
        if (f.length < 5) continue;
        makeRectangle(parseInt(f[1]), parseInt(f[2]), parseInt(f[3]), parseInt(f[4]));
        getRawStatistics(n, mean);
        out = out + variants[v] + "," + f[0] + "," + n + "," + d2s(n * mean, 3) + "\n";
    }
    close();
}
File.saveString(out, args[2]);
// the float-inverted background itself ("create"), for comparison with the true background
selectImage(orig);
run("Duplicate...", "title=bg");
run("32-bit");
run("Multiply...", "value=-1");
run("Add...", "value=65535");
run("Subtract Background...", "rolling=" + radius + " create");
saveAs("Tiff", args[2] + ".background.tif");
close();
print("ImageJ " + getVersion() + ": " + (lines.length - 1) + " boxes x " + variants.length + " variants -> " + args[2]);
