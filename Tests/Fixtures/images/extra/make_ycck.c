/* Fixture generator (not part of the package): writes a YCCK JPEG with libjpeg.
 *   make_ycck RAW_CMYK_FILE WIDTH HEIGHT OUT.jpg
 * RAW_CMYK_FILE holds WIDTH*HEIGHT*4 bytes, stored as they are (Adobe
 * convention: inverted). Pillow cannot write YCCK; make_extra.py calls this. */
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s raw width height out.jpg\n", argv[0]); return 2; }
    int width = atoi(argv[2]), height = atoi(argv[3]);
    size_t size = (size_t)width * height * 4;
    unsigned char *data = malloc(size);
    FILE *in = fopen(argv[1], "rb");
    if (!data || !in || fread(data, 1, size, in) != size) { fprintf(stderr, "cannot read %s\n", argv[1]); return 1; }
    fclose(in);
    FILE *out = fopen(argv[4], "wb");
    if (!out) { perror(argv[4]); return 1; }
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, out);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = 4;
    cinfo.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_colorspace(&cinfo, JCS_YCCK);
    jpeg_set_quality(&cinfo, 95, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = data + (size_t)cinfo.next_scanline * width * 4;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    fclose(out);
    free(data);
    return 0;
}
