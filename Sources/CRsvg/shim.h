// librsvg (SVG rendering) and cairo (the image surfaces it draws on, PNG streams).
#include <librsvg/rsvg.h>
#include <cairo.h>
