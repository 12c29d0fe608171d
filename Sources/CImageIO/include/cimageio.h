#pragma once
/*
 * CImageIO: PNG and JPEG decoding to 8-bit RGB, and PNG encoding.
 *
 * Decoded pixels equal Pillow's `Image.open(path).convert('RGB')`:
 *   - JPEG through libjpeg with its default decompression settings (integer
 *     slow DCT, fancy upsampling), as Pillow decodes; grayscale is replicated
 *     into R, G and B; CMYK and YCCK files are read with Adobe (inverted)
 *     polarity and converted with Pillow's integer cmyk2rgb formula.
 *   - PNG through libpng's classic API without gamma or colour management:
 *     alpha and tRNS transparency are dropped (never composed over a
 *     background), 1/2/4-bit grey is scaled to 0..255, palettes are looked up,
 *     16-bit samples keep their high byte, except 16-bit grey without alpha,
 *     which Pillow (mode "I;16") clips to min(value, 255).
 * The format is told by the file's first bytes, never by its name.
 *
 * Every function returns a cimageio_status and, on failure, writes a
 * NUL-terminated English message of at most CIMAGEIO_ERROR_LENGTH bytes
 * (including the NUL) into the caller's `err` buffer. Nothing is printed,
 * nothing exits the process, and every allocation and file is released on
 * every path.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the caller-provided message buffer, in bytes. */
#define CIMAGEIO_ERROR_LENGTH 256

typedef enum {
    CIMAGEIO_OK = 0,
    /** No file at the path (ENOENT). */
    CIMAGEIO_NOT_FOUND = 1,
    /** The path exists but cannot be read: permissions, a directory, a FIFO or device (never waited on), an I/O error. */
    CIMAGEIO_UNREADABLE = 2,
    /** Neither a PNG nor a JPEG signature, or a variant Pillow cannot read either. */
    CIMAGEIO_UNSUPPORTED = 3,
    /** Truncated or invalid data; the message names what libpng/libjpeg found. */
    CIMAGEIO_CORRUPT = 4,
    /** width * height exceeds max_pixels; width and height are still reported. */
    CIMAGEIO_TOO_LARGE = 5,
    /** An allocation failed. */
    CIMAGEIO_NO_MEMORY = 6,
    /** A null pointer, a non-positive size or an unsupported channel count. */
    CIMAGEIO_INVALID_ARGUMENT = 8,
} cimageio_status;

/**
 * Reads only the header of the PNG or JPEG at `path` (no pixel data is
 * decoded), so that a caller can enforce a pixel limit before decoding.
 *
 * `channels_in_file` is the channel count of the image Pillow would open:
 * 1 grey, 2 grey + alpha, 3 RGB or palette (PNG) or YCbCr (JPEG),
 * 4 RGBA or CMYK/YCCK.
 */
cimageio_status cimageio_probe(const char *path, int *width, int *height,
                               int *channels_in_file, char *err);

/**
 * Decodes the PNG or JPEG at `path` into a newly allocated, row-major,
 * interleaved H x W x 3 uint8 buffer stored in `*out_rgb` (release it with
 * cimageio_free). The header is checked first: if width * height exceeds
 * `max_pixels` (which must be > 0) nothing is decoded and CIMAGEIO_TOO_LARGE
 * is returned with `*width` and `*height` set. On any failure `*out_rgb` is NULL.
 */
cimageio_status cimageio_decode_rgb(const char *path, int64_t max_pixels,
                                    uint8_t **out_rgb, int *width, int *height,
                                    char *err);

/**
 * Encodes `pixels` (row-major, interleaved H x W x `channels` uint8; channels
 * 3 = RGB or 4 = RGBA) as an 8-bit PNG into a newly allocated buffer stored in
 * `*out_png` (`*out_size` bytes; release it with cimageio_free). Writing the
 * bytes to a file is the caller's (the Swift side's one atomic-write helper).
 * On failure `*out_png` is NULL.
 */
cimageio_status cimageio_encode_png(const uint8_t *pixels, int width, int height, int channels,
                                    uint8_t **out_png, size_t *out_size, char *err);

/** Releases a buffer returned by cimageio_decode_rgb; NULL is allowed. */
void cimageio_free(void *ptr);

#ifdef __cplusplus
}
#endif
