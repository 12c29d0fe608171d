/*
 * PNG/JPEG decoding to Pillow-identical RGB, and PNG encoding.
 * See include/cimageio.h for the contract; the comments here say why.
 *
 * libpng and libjpeg report fatal errors by calling an error handler that
 * must not return. Both handlers here copy the message into the caller's
 * buffer and longjmp back to the function that set the jump point, which
 * then releases what it allocated. Locals that change between setjmp and a
 * possible longjmp and are read afterwards are `volatile`.
 */
#define _POSIX_C_SOURCE 200809L

#include "cimageio.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>

static void set_error(char *err, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void set_error(char *err, const char *format, ...) {
    if (err == NULL) return;
    va_list args;
    va_start(args, format);
    vsnprintf(err, CIMAGEIO_ERROR_LENGTH, format, args);
    va_end(args);
}

/* ------------------------------------------------------------------------ */
/* Opening and format detection                                             */
/* ------------------------------------------------------------------------ */

typedef enum { FORMAT_PNG, FORMAT_JPEG } image_format;

/* What the header says, before any pixel is decoded. */
typedef struct {
    uint32_t width;
    uint32_t height;
    int channels;
} image_header;

/* Opens `path` for reading only if it is a regular file. It is opened
 * non-blocking first, so that a FIFO or a terminal (which `fopen` would wait
 * on forever) is refused at once, like a directory or a device. */
static FILE *open_regular_file(const char *path, char *err, cimageio_status *status) {
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int code = errno;
        set_error(err, "%s", strerror(code));
        *status = (code == ENOENT || code == ENOTDIR) ? CIMAGEIO_NOT_FOUND : CIMAGEIO_UNREADABLE;
        return NULL;
    }
    struct stat info;
    int stated = fstat(fd, &info) == 0;
    if (!stated || !S_ISREG(info.st_mode)) {
        set_error(err, "%s", !stated ? strerror(errno) : S_ISDIR(info.st_mode) ? "it is a directory"
                             : "not a regular file (a FIFO, socket or device cannot be read as an image)");
        close(fd);
        *status = CIMAGEIO_UNREADABLE;
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    FILE *file = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ? NULL : fdopen(fd, "rb");
    if (file == NULL) {
        set_error(err, "%s", strerror(errno));
        close(fd);
        *status = CIMAGEIO_UNREADABLE;
    }
    return file;
}

/* Opens `path` and identifies PNG or JPEG by the signature bytes; on success
 * the stream is positioned at offset 0. */
static cimageio_status open_image(const char *path, FILE **out, image_format *format, char *err) {
    cimageio_status opened = CIMAGEIO_OK;
    FILE *file = open_regular_file(path, err, &opened);
    if (file == NULL) return opened;
    unsigned char magic[8];
    size_t n = fread(magic, 1, sizeof magic, file);
    if (ferror(file)) { /* an I/O error */
        int code = errno;
        fclose(file);
        set_error(err, "%s", strerror(code));
        return CIMAGEIO_UNREADABLE;
    }
    cimageio_status status = CIMAGEIO_OK;
    if (n == sizeof magic && png_sig_cmp(magic, 0, sizeof magic) == 0) {
        *format = FORMAT_PNG;
    } else if (n >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) {
        *format = FORMAT_JPEG;
    } else if (n >= 2 && n < sizeof magic && png_sig_cmp(magic, 0, n) == 0) {
        set_error(err, "the file ends inside the PNG signature (truncated file, %zu bytes)", n);
        status = CIMAGEIO_CORRUPT;
    } else if (n == 2 && magic[0] == 0xFF && magic[1] == 0xD8) {
        set_error(err, "the file ends right after the JPEG start marker (truncated file)");
        status = CIMAGEIO_CORRUPT;
    } else if (n == 0) {
        set_error(err, "the file is empty");
        status = CIMAGEIO_UNSUPPORTED;
    } else {
        set_error(err, "not a PNG or JPEG file (it starts with bytes %02x %02x %02x %02x)",
                  magic[0], n > 1 ? magic[1] : 0, n > 2 ? magic[2] : 0, n > 3 ? magic[3] : 0);
        status = CIMAGEIO_UNSUPPORTED;
    }
    if (status == CIMAGEIO_OK && fseek(file, 0, SEEK_SET) != 0) {
        set_error(err, "cannot seek back to the start of the file: %s", strerror(errno));
        status = CIMAGEIO_UNREADABLE;
    }
    if (status != CIMAGEIO_OK) {
        fclose(file);
        return status;
    }
    *out = file;
    return CIMAGEIO_OK;
}

/* Enforces the pixel limit from header values, before anything is allocated. */
static cimageio_status check_pixel_limit(const image_header *header, int64_t max_pixels, char *err) {
    uint64_t pixels = (uint64_t)header->width * header->height;
    if (header->width == 0 || header->height == 0) {
        set_error(err, "the header gives an empty image (%u x %u)", header->width, header->height);
        return CIMAGEIO_CORRUPT;
    }
    if (pixels > (uint64_t)max_pixels) {
        set_error(err, "%u x %u = %llu pixels is above the limit of %lld pixels",
                  header->width, header->height, (unsigned long long)pixels, (long long)max_pixels);
        return CIMAGEIO_TOO_LARGE;
    }
    /* Decoding needs at most 6 bytes per pixel (16-bit RGB before reduction). */
    if (pixels > SIZE_MAX / 8) {
        set_error(err, "%u x %u pixels cannot be addressed in memory", header->width, header->height);
        return CIMAGEIO_NO_MEMORY;
    }
    return CIMAGEIO_OK;
}

/* Pillow's MULDIV255: round(a * b / 255) in integers. */
static inline unsigned muldiv255(unsigned a, unsigned b) {
    unsigned t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

/* ------------------------------------------------------------------------ */
/* JPEG                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct {
    struct jpeg_error_mgr pub; /* first member: libjpeg hands back a pointer to it */
    jmp_buf jump;
    char *err;
} jpeg_error_context;

static void jpeg_fail(j_common_ptr cinfo) {
    jpeg_error_context *context = (jpeg_error_context *)cinfo->err;
    char message[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, message);
    set_error(context->err, "invalid JPEG data: %s", message);
    longjmp(context->jump, 1);
}

/* libjpeg treats a truncated file as a warning and pads it with a fake end
 * marker (grey pixels). Pillow refuses truncated files, so that warning is an
 * error here; other warnings (extraneous bytes, ...) are ignored as Pillow
 * ignores them, and trace messages are never shown. */
static void jpeg_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        jpeg_error_context *context = (jpeg_error_context *)cinfo->err;
        set_error(context->err, "the file ends before the JPEG data does (truncated file)");
        longjmp(context->jump, 1);
    }
}

static void jpeg_silent(j_common_ptr cinfo) { (void)cinfo; }

/* Reads the header, and when `out_rgb` is not NULL decodes the pixels. */
static cimageio_status read_jpeg(FILE *file, int64_t max_pixels, uint8_t **out_rgb,
                                 image_header *header, char *err) {
    struct jpeg_decompress_struct cinfo;
    jpeg_error_context error_context;
    uint8_t *volatile rgb = NULL;
    JSAMPLE *volatile row = NULL;
    cimageio_status status;

    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&error_context.pub);
    error_context.pub.error_exit = jpeg_fail;
    error_context.pub.emit_message = jpeg_message;
    error_context.pub.output_message = jpeg_silent;
    error_context.err = err;
    if (setjmp(error_context.jump)) {
        status = CIMAGEIO_CORRUPT;
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, file);
    jpeg_read_header(&cinfo, TRUE);
    header->width = cinfo.image_width;
    header->height = cinfo.image_height;
    header->channels = cinfo.num_components;
    /* Pillow's modes for 1, 3 and 4 components: L, RGB, CMYK (Adobe polarity). */
    switch (cinfo.num_components) {
    case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
    case 3: cinfo.out_color_space = JCS_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break; /* YCCK is converted to CMYK by libjpeg */
    default:
        set_error(err, "JPEG with %d colour components (only 1, 3 or 4 are readable)", cinfo.num_components);
        status = CIMAGEIO_UNSUPPORTED;
        goto done;
    }
    if (out_rgb == NULL) {
        status = CIMAGEIO_OK;
        goto done;
    }
    status = check_pixel_limit(header, max_pixels, err);
    if (status != CIMAGEIO_OK) goto done;

    /* Defaults kept on purpose: JDCT_ISLOW and fancy upsampling, as Pillow. */
    jpeg_start_decompress(&cinfo);
    const size_t width = cinfo.output_width;
    const size_t height = cinfo.output_height;
    const int components = cinfo.output_components;
    rgb = malloc(width * height * 3);
    if (components != 3) row = malloc(width * (size_t)components);
    if (rgb == NULL || (components != 3 && row == NULL)) {
        set_error(err, "out of memory for a %zu x %zu image", width, height);
        status = CIMAGEIO_NO_MEMORY;
        goto done;
    }
    while (cinfo.output_scanline < height) {
        uint8_t *dst = rgb + (size_t)cinfo.output_scanline * width * 3;
        JSAMPROW target = components == 3 ? dst : row;
        if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) {
            set_error(err, "libjpeg delivered no data for row %u", cinfo.output_scanline);
            status = CIMAGEIO_CORRUPT;
            goto done;
        }
        const uint8_t *src = row;
        if (components == 1) {
            for (size_t x = 0; x < width; x++) {
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
            }
        } else if (components == 4) {
            /* Pillow reads CMYK JPEGs as "CMYK;I" (stored inverted, Adobe
             * convention: c = 255 - raw) and converts with
             * out = (255 - k) - round(c * (255 - k) / 255), where 255 - k = raw k. */
            for (size_t x = 0; x < width; x++) {
                const unsigned nk = src[4 * x + 3];
                for (size_t c = 0; c < 3; c++) {
                    dst[3 * x + c] = (uint8_t)(nk - muldiv255(255u - src[4 * x + c], nk));
                }
            }
        }
    }
    /* jpeg_finish_decompress is not called: it would only look for the end
     * marker, whose absence Pillow tolerates once all rows are decoded. */
    status = CIMAGEIO_OK;

done:
    jpeg_destroy_decompress(&cinfo);
    free(row);
    if (status == CIMAGEIO_OK && out_rgb != NULL) {
        *out_rgb = rgb;
    } else {
        free(rgb);
    }
    return status;
}

/* ------------------------------------------------------------------------ */
/* PNG                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct {
    FILE *file;       /* reading */
    char *err;
    const char *what; /* prefix of libpng's own messages */
    uint8_t *buffer;  /* writing: the encoded bytes so far, `size` of `capacity` */
    size_t size;
    size_t capacity;
} png_io_context;

static void png_fail(png_structp png, png_const_charp message) {
    png_io_context *context = png_get_error_ptr(png);
    set_error(context->err, "%s: %s", context->what, message);
    png_longjmp(png, 1);
}

static void png_ignore_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void png_read_data(png_structp png, png_bytep data, size_t length) {
    png_io_context *context = png_get_io_ptr(png);
    if (fread(data, 1, length, context->file) != length) {
        if (ferror(context->file)) {
            set_error(context->err, "read error: %s", strerror(errno));
        } else {
            set_error(context->err, "the file ends before the PNG data does (truncated file)");
        }
        png_longjmp(png, 1);
    }
}

static void png_write_data(png_structp png, png_bytep data, size_t length) {
    png_io_context *context = png_get_io_ptr(png);
    if (length > context->capacity - context->size) {
        size_t capacity = context->capacity < 4096 ? 4096 : context->capacity;
        while (length > capacity - context->size) {
            if (capacity > SIZE_MAX / 2) {
                set_error(context->err, "the encoded PNG does not fit in memory");
                png_longjmp(png, 1);
            }
            capacity *= 2;
        }
        uint8_t *grown = realloc(context->buffer, capacity);
        if (grown == NULL) {
            set_error(context->err, "out of memory encoding the PNG");
            png_longjmp(png, 1);
        }
        context->buffer = grown;
        context->capacity = capacity;
    }
    memcpy(context->buffer + context->size, data, length);
    context->size += length;
}

/* Nothing to flush: the bytes stay in memory. */
static void png_flush_data(png_structp png) { (void)png; }

/* Reads the header, and when `out_rgb` is not NULL decodes the pixels. */
static cimageio_status read_png(FILE *file, int64_t max_pixels, uint8_t **out_rgb,
                                image_header *header, char *err) {
    png_io_context context = {file, err, "invalid PNG data"};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, png_fail, png_ignore_warning);
    if (png == NULL) {
        set_error(err, "out of memory creating the PNG reader");
        return CIMAGEIO_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_error(err, "out of memory creating the PNG reader");
        return CIMAGEIO_NO_MEMORY;
    }
    uint8_t *volatile rgb = NULL;
    uint8_t *volatile samples = NULL;
    png_bytep *volatile rows = NULL;
    cimageio_status status;
    if (setjmp(png_jmpbuf(png))) {
        status = CIMAGEIO_CORRUPT;
        goto done;
    }
    png_set_read_fn(png, &context, png_read_data);
    /* The caller's pixel limit governs, not libpng's default of 1e6 per side. */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 width, height;
    int bit_depth, color_type;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, NULL, NULL, NULL);
    header->width = width;
    header->height = height;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: header->channels = 1; break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: header->channels = 2; break;
    case PNG_COLOR_TYPE_RGB_ALPHA: header->channels = 4; break;
    default: header->channels = 3; break; /* RGB, palette */
    }
    if (out_rgb == NULL) {
        status = CIMAGEIO_OK;
        goto done;
    }
    status = check_pixel_limit(header, max_pixels, err);
    if (status != CIMAGEIO_OK) goto done;

    /* Pillow's convert('RGB'): no gamma, alpha and tRNS dropped (tRNS is not
     * expanded, so only a real alpha channel exists to strip), low bit depths
     * scaled (x255, x85, x17), 16-bit reduced below by hand. */
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    const size_t w = width, h = height;
    const int channels = png_get_channels(png, info);
    const int depth = png_get_bit_depth(png, info);
    const size_t row_bytes = png_get_rowbytes(png, info);
    if ((channels != 1 && channels != 3) || (depth != 8 && depth != 16) ||
        row_bytes != w * (size_t)channels * (size_t)(depth / 8)) {
        set_error(err, "unexpected libpng output layout (%d channels, %d bits, %zu bytes per row)",
                  channels, depth, row_bytes);
        status = CIMAGEIO_UNSUPPORTED;
        goto done;
    }
    const int direct = channels == 3 && depth == 8; /* rows land in the output as they are */
    rgb = malloc(w * h * 3);
    if (!direct) samples = malloc(h * row_bytes);
    rows = malloc(h * sizeof(png_bytep));
    if (rgb == NULL || rows == NULL || (!direct && samples == NULL)) {
        set_error(err, "out of memory for a %zu x %zu image", w, h);
        status = CIMAGEIO_NO_MEMORY;
        goto done;
    }
    for (size_t y = 0; y < h; y++) {
        rows[y] = direct ? rgb + y * w * 3 : samples + y * row_bytes;
    }
    png_read_image(png, rows);

    if (!direct) {
        /* 16-bit samples are big-endian. Pillow keeps the high byte ("RGB;16B",
         * "LA;16B"), except for grey without alpha, opened as "I;16" and
         * clipped to 255 by convert('RGB'). */
        const int clip_grey16 = color_type == PNG_COLOR_TYPE_GRAY && depth == 16;
        for (size_t y = 0; y < h; y++) {
            const uint8_t *src = samples + y * row_bytes;
            uint8_t *dst = rgb + y * w * 3;
            if (channels == 3) { /* 16-bit RGB */
                for (size_t i = 0; i < w * 3; i++) dst[i] = src[2 * i];
            } else if (depth == 8) {
                for (size_t x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
            } else {
                for (size_t x = 0; x < w; x++) {
                    uint8_t v;
                    if (clip_grey16) {
                        unsigned value = ((unsigned)src[2 * x] << 8) | src[2 * x + 1];
                        v = value > 255 ? 255 : (uint8_t)value;
                    } else {
                        v = src[2 * x];
                    }
                    dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = v;
                }
            }
        }
    }
    /* png_read_end is not called: trailing chunks do not change the pixels,
     * and Pillow does not require them either. */
    status = CIMAGEIO_OK;

done:
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    free(samples);
    if (status == CIMAGEIO_OK && out_rgb != NULL) {
        *out_rgb = rgb;
    } else {
        free(rgb);
    }
    return status;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

static cimageio_status read_image(const char *path, int64_t max_pixels, uint8_t **out_rgb,
                                  image_header *header, char *err) {
    FILE *file = NULL;
    image_format format;
    cimageio_status status = open_image(path, &file, &format, err);
    if (status != CIMAGEIO_OK) return status;
    status = format == FORMAT_PNG ? read_png(file, max_pixels, out_rgb, header, err)
                                  : read_jpeg(file, max_pixels, out_rgb, header, err);
    fclose(file);
    return status;
}

cimageio_status cimageio_probe(const char *path, int *width, int *height, int *channels_in_file,
                               char *err) {
    if (path == NULL || width == NULL || height == NULL || channels_in_file == NULL) {
        set_error(err, "cimageio_probe: null argument");
        return CIMAGEIO_INVALID_ARGUMENT;
    }
    image_header header = {0, 0, 0};
    cimageio_status status = read_image(path, 0, NULL, &header, err);
    *width = (int)header.width;
    *height = (int)header.height;
    *channels_in_file = header.channels;
    return status;
}

cimageio_status cimageio_decode_rgb(const char *path, int64_t max_pixels, uint8_t **out_rgb,
                                    int *width, int *height, char *err) {
    if (path == NULL || out_rgb == NULL || width == NULL || height == NULL || max_pixels <= 0) {
        set_error(err, "cimageio_decode_rgb: null argument or max_pixels <= 0");
        return CIMAGEIO_INVALID_ARGUMENT;
    }
    *out_rgb = NULL;
    image_header header = {0, 0, 0};
    cimageio_status status = read_image(path, max_pixels, out_rgb, &header, err);
    *width = (int)header.width;
    *height = (int)header.height;
    return status;
}

cimageio_status cimageio_encode_png(const uint8_t *pixels, int width, int height, int channels,
                                    uint8_t **out_png, size_t *out_size, char *err) {
    if (out_png != NULL) *out_png = NULL;
    if (out_size != NULL) *out_size = 0;
    if (pixels == NULL || out_png == NULL || out_size == NULL || width <= 0 || height <= 0
        || (channels != 3 && channels != 4)) {
        set_error(err, "cimageio_encode_png: needs pixels, an output, positive sizes and 3 or 4 channels "
                       "(got %d x %d x %d)", width, height, channels);
        return CIMAGEIO_INVALID_ARGUMENT;
    }
    /* Through a volatile pointer: after a longjmp from png_fail the buffer must
       be read as png_write_data last grew it, not from a stale register. */
    png_io_context context = {NULL, err, "PNG encoding failed", NULL, 0, 0};
    png_io_context *volatile shared = &context;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, shared, png_fail, png_ignore_warning);
    png_infop info = png == NULL ? NULL : png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        set_error(err, "out of memory creating the PNG writer");
        return CIMAGEIO_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(shared->buffer);
        return CIMAGEIO_NO_MEMORY;
    }
    png_set_write_fn(png, shared, png_write_data, png_flush_data);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8,
                 channels == 4 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    const size_t stride = (size_t)width * (size_t)channels;
    for (size_t y = 0; y < (size_t)height; y++) {
        png_write_row(png, pixels + y * stride);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out_png = shared->buffer;
    *out_size = shared->size;
    return CIMAGEIO_OK;
}

void cimageio_free(void *ptr) { free(ptr); }
