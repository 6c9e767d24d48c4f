//! An uploaded picture's size as shown and its thumbnail, decoded under
//! limits so that no file (a decompression bomb, a lying header) can make
//! the server allocate more than the configured picture size allows.
//!
//! Everything here blocks (file reads, decoding, encoding): callers run it
//! in `spawn_blocking`.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageFormat, ImageReader,
};

/// JPEG quality of thumbnails: small files, no visible blocks at 400 px.
const THUMB_JPEG_QUALITY: u8 = 82;

/// The most bytes one decoded pixel takes among the four formats (16-bit
/// RGBA PNG).
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// The limits of [`inspect`] (`CHAT_IMAGE_MAX_PIXELS`,
/// `CHAT_THUMB_MAX_PX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// The most pixels (width × height) a picture may have; its header is
    /// checked against this before anything is decoded.
    pub max_pixels: u64,
    /// A thumbnail's long side at most, in pixels.
    pub thumb_max_px: u32,
}

/// What [`inspect`] learnt of a picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Width as shown (after the EXIF orientation).
    pub width: u32,
    /// Height as shown.
    pub height: u32,
    /// The thumbnail, re-encoded (no EXIF or other metadata).
    pub thumb: Thumb,
}

/// A thumbnail, encoded and ready to store.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumb {
    /// The encoded file.
    pub bytes: Vec<u8>,
    /// `image/jpeg`, or `image/png` for a picture with transparency.
    pub mime: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl std::fmt::Debug for Thumb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Thumb")
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("mime", &self.mime)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Why a picture got no size and thumbnail.
#[derive(Debug, thiserror::Error)]
pub enum ImageRefusal {
    /// The header claims more pixels than allowed (a decompression bomb
    /// among them): the upload is refused (PROTOCOL.md: 422
    /// `IMAGE_TOO_LARGE`).
    #[error("the image is {width}×{height} pixels, more than the {max_pixels} allowed")]
    TooLarge {
        /// Width in the header.
        width: u32,
        /// Height in the header.
        height: u32,
        /// The limit.
        max_pixels: u64,
    },
    /// The picture could not be decoded (truncated, corrupt, or not one of
    /// the four formats after all; or, rarely, its file could not be
    /// read): it is stored as a plain file.
    #[error("the image could not be decoded: {0}")]
    Undecodable(String),
}

/// Reads a picture's size (as shown) and makes its thumbnail.
///
/// The header is read first, without decoding: more than
/// `limits.max_pixels` pixels is [`ImageRefusal::TooLarge`]. Then the
/// picture is decoded with decoder limits sized from `max_pixels`, its EXIF
/// orientation applied, and shrunk to at most `limits.thumb_max_px` on its
/// long side (never enlarged). An animated GIF or WebP gives its first
/// frame.
///
/// # Errors
///
/// [`ImageRefusal::TooLarge`] for too many pixels,
/// [`ImageRefusal::Undecodable`] for anything the decoders refuse or a
/// file that cannot be read.
pub fn inspect(path: &Path, limits: ImageLimits) -> Result<ImageInfo, ImageRefusal> {
    let unreadable = |error: io::Error| {
        ImageRefusal::Undecodable(format!("the file could not be read: {error}"))
    };
    let file = File::open(path).map_err(unreadable)?;
    // No path: the format comes from the bytes, never from a file name.
    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(unreadable)?;
    let format = match reader.format() {
        Some(
            format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP),
        ) => format,
        Some(other) => {
            return Err(ImageRefusal::Undecodable(format!(
                "{other:?} is not one of PNG, JPEG, GIF, WebP"
            )))
        }
        None => {
            return Err(ImageRefusal::Undecodable(
                "not a PNG, JPEG, GIF or WebP image".into(),
            ))
        }
    };

    // The whole budget of the decode: the widest pixel, twice over for
    // the decoder's own buffers. Reading the header needs little of it.
    let budget = limits
        .max_pixels
        .saturating_mul(MAX_BYTES_PER_PIXEL)
        .saturating_mul(2);
    let mut header_limits = image::Limits::default();
    header_limits.max_alloc = Some(budget);
    reader.limits(header_limits);
    let mut decoder = reader.into_decoder().map_err(undecodable)?;

    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(ImageRefusal::TooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(ImageRefusal::Undecodable("the image has no pixels".into()));
    }
    if decoder.total_bytes() > budget {
        return Err(ImageRefusal::TooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    // The JPEG decoder fills what a cut file lacks with grey rather than
    // failing; a cut file is told by its missing end marker.
    if format == ImageFormat::Jpeg && !jpeg_reaches_its_end(path).map_err(unreadable)? {
        return Err(ImageRefusal::Undecodable(
            "the JPEG stops before its end-of-image marker (a truncated file)".into(),
        ));
    }
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    let mut decode_limits = image::Limits::default();
    decode_limits.max_image_width = Some(side);
    decode_limits.max_image_height = Some(side);
    decode_limits.max_alloc = Some(budget);
    decoder.set_limits(decode_limits).map_err(undecodable)?;
    // A malformed EXIF block does not make the picture unusable.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let picture = DynamicImage::from_decoder(decoder).map_err(undecodable)?;

    let (width, height) = if swaps_sides(orientation) {
        (height, width)
    } else {
        (width, height)
    };
    // Shrink first, then turn: turning the small picture is cheap, and
    // the bound is square so turning does not change what fits.
    let bound = limits.thumb_max_px.max(1);
    let mut small = if picture.width() > bound || picture.height() > bound {
        picture.thumbnail(bound, bound)
    } else {
        picture
    };
    small.apply_orientation(orientation);
    let thumb = encode_thumb(&small)?;
    Ok(ImageInfo {
        width,
        height,
        thumb,
    })
}

/// Whether an orientation turns the picture a quarter, so that its width
/// as shown is its stored height.
fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Whether a JPEG file runs to its end-of-image marker (`FF D9`) after
/// its first scan: walks the marker segments to the first start-of-scan,
/// then looks for the marker in the entropy-coded data, where `FF` is
/// never followed by `D9` otherwise. Bytes after the marker (a phone's
/// motion-photo video) do not matter.
fn jpeg_reaches_its_end(path: &Path) -> io::Result<bool> {
    let mut file = BufReader::new(File::open(path)?);
    let mut byte = [0u8; 1];
    let mut next = |file: &mut BufReader<File>| -> io::Result<Option<u8>> {
        match file.read_exact(&mut byte) {
            Ok(()) => Ok(Some(byte[0])),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    };
    if (next(&mut file)?, next(&mut file)?) != (Some(0xFF), Some(0xD8)) {
        return Ok(false);
    }
    // Marker segments up to the first scan.
    loop {
        // Skip to a marker, then over fill bytes.
        let mut code = loop {
            match next(&mut file)? {
                Some(0xFF) => break 0xFF,
                Some(_) => {}
                None => return Ok(false),
            }
        };
        while code == 0xFF {
            match next(&mut file)? {
                Some(c) => code = c,
                None => return Ok(false),
            }
        }
        match code {
            0xD9 => return Ok(true),
            0xDA => break,
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {}
            _ => {
                let (Some(high), Some(low)) = (next(&mut file)?, next(&mut file)?) else {
                    return Ok(false);
                };
                let len = u16::from_be_bytes([high, low]);
                if len < 2 {
                    return Ok(false);
                }
                file.seek_relative(i64::from(len) - 2)?;
            }
        }
    }
    // The scans: look for FF D9 in blocks.
    let mut block = vec![0u8; 64 * 1024];
    let mut after_ff = false;
    loop {
        let read = file.read(&mut block)?;
        if read == 0 {
            return Ok(false);
        }
        for &b in &block[..read] {
            if after_ff && b == 0xD9 {
                return Ok(true);
            }
            after_ff = b == 0xFF;
        }
    }
}

/// Encodes a thumbnail: PNG when some pixel is not opaque, else JPEG.
/// Only pixels are written, so no metadata of the upload survives.
fn encode_thumb(picture: &DynamicImage) -> Result<Thumb, ImageRefusal> {
    let (width, height) = (picture.width(), picture.height());
    let mut bytes = Vec::new();
    let rgba = picture
        .color()
        .has_alpha()
        .then(|| picture.to_rgba8())
        .filter(|rgba| rgba.pixels().any(|p| p[3] < u8::MAX));
    let mime = if let Some(rgba) = rgba {
        PngEncoder::new(&mut bytes)
            .write_image(rgba.as_raw(), width, height, ExtendedColorType::Rgba8)
            .map_err(|e| {
                ImageRefusal::Undecodable(format!("the thumbnail could not be encoded: {e}"))
            })?;
        "image/png"
    } else {
        let rgb = picture.to_rgb8();
        JpegEncoder::new_with_quality(&mut bytes, THUMB_JPEG_QUALITY)
            .write_image(rgb.as_raw(), width, height, ExtendedColorType::Rgb8)
            .map_err(|e| {
                ImageRefusal::Undecodable(format!("the thumbnail could not be encoded: {e}"))
            })?;
        "image/jpeg"
    };
    Ok(Thumb {
        bytes,
        mime,
        width,
        height,
    })
}

/// A decoder's refusal as [`ImageRefusal::Undecodable`].
fn undecodable(error: image::ImageError) -> ImageRefusal {
    ImageRefusal::Undecodable(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::gif::GifEncoder;
    use image::codecs::webp::WebPEncoder;
    use image::{GenericImageView, Rgb, RgbImage, Rgba, RgbaImage};

    const LIMITS: ImageLimits = ImageLimits {
        max_pixels: 40_000_000,
        thumb_max_px: 400,
    };

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A picture whose left half is red and right half blue.
    fn two_tone(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        })
    }

    fn jpeg_bytes(picture: &RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(
                picture.as_raw(),
                picture.width(),
                picture.height(),
                ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    }

    fn png_rgba_bytes(picture: &RgbaImage) -> Vec<u8> {
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(
                picture.as_raw(),
                picture.width(),
                picture.height(),
                ExtendedColorType::Rgba8,
            )
            .unwrap();
        out
    }

    fn decode(thumb: &Thumb) -> DynamicImage {
        image::load_from_memory(&thumb.bytes).unwrap()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// CRC-32 (IEEE) as PNG chunks carry it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }

    /// A PNG whose header claims `width`×`height` RGB pixels but which
    /// carries a few bytes of image data: a decompression bomb's shape.
    fn claimed_png(width: u32, height: u32) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        png_chunk(&mut out, b"IHDR", &ihdr);
        // zlib stream of one empty stored block.
        png_chunk(
            &mut out,
            b"IDAT",
            &[
                0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01,
            ],
        );
        png_chunk(&mut out, b"IEND", &[]);
        out
    }

    /// A JPEG with an EXIF APP1 segment (little-endian TIFF, one IFD entry:
    /// Orientation = `orientation`) right after SOI.
    fn jpeg_with_orientation(picture: &RgbImage, orientation: u16) -> Vec<u8> {
        let mut tiff = b"II*\0".to_vec();
        tiff.extend_from_slice(&8u32.to_le_bytes()); // IFD offset
        tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
        tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
        tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
        tiff.extend_from_slice(&1u32.to_le_bytes()); // count
        tiff.extend_from_slice(&orientation.to_le_bytes());
        tiff.extend_from_slice(&[0, 0]); // value padding
        tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(&tiff);
        let mut segment = vec![0xFF, 0xE1];
        segment.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        segment.extend_from_slice(&payload);

        let plain = jpeg_bytes(picture);
        let mut out = plain[..2].to_vec(); // SOI
        out.extend_from_slice(&segment);
        out.extend_from_slice(&plain[2..]);
        out
    }

    /// A large opaque JPEG: its size, and a JPEG thumbnail 400 px on the
    /// long side with the aspect kept.
    #[test]
    fn a_jpeg_gets_its_size_and_a_jpeg_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "photo.part", &jpeg_bytes(&two_tone(1200, 800)));

        let info = inspect(&path, LIMITS).unwrap();

        assert_eq!((info.width, info.height), (1200, 800));
        assert_eq!(info.thumb.mime, "image/jpeg");
        assert_eq!((info.thumb.width, info.thumb.height), (400, 267));
        let thumb = decode(&info.thumb);
        assert_eq!(thumb.dimensions(), (400, 267));
        let left = thumb.get_pixel(50, 100);
        assert!(left[0] > 200 && left[2] < 60, "{left:?}");
    }

    /// A PNG with transparency keeps it: the thumbnail is a PNG with alpha.
    #[test]
    fn a_transparent_png_gets_a_png_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let picture = RgbaImage::from_fn(300, 900, |x, _| {
            if x < 150 {
                Rgba([0, 255, 0, 0])
            } else {
                Rgba([0, 255, 0, 255])
            }
        });
        let path = write(&dir, "logo.part", &png_rgba_bytes(&picture));

        let info = inspect(&path, LIMITS).unwrap();

        assert_eq!((info.width, info.height), (300, 900));
        assert_eq!(info.thumb.mime, "image/png");
        assert_eq!((info.thumb.width, info.thumb.height), (133, 400));
        let thumb = decode(&info.thumb).to_rgba8();
        assert_eq!(thumb.get_pixel(10, 10)[3], 0);
        assert_eq!(thumb.get_pixel(120, 10)[3], 255);
    }

    /// An RGBA PNG whose pixels are all opaque needs no alpha: JPEG.
    #[test]
    fn an_opaque_rgba_png_gets_a_jpeg_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let picture = RgbaImage::from_pixel(50, 40, Rgba([10, 20, 30, 255]));
        let path = write(&dir, "opaque.part", &png_rgba_bytes(&picture));
        let info = inspect(&path, LIMITS).unwrap();
        assert_eq!(info.thumb.mime, "image/jpeg");
        assert_eq!((info.thumb.width, info.thumb.height), (50, 40));
    }

    /// A GIF (animated: two frames) gives its size and its first frame.
    #[test]
    fn an_animated_gif_gives_its_first_frame() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut bytes);
            let red = RgbaImage::from_pixel(64, 32, Rgba([255, 0, 0, 255]));
            let blue = RgbaImage::from_pixel(64, 32, Rgba([0, 0, 255, 255]));
            encoder
                .encode_frames([image::Frame::new(red), image::Frame::new(blue)])
                .unwrap();
        }
        let path = write(&dir, "anim.part", &bytes);

        let info = inspect(&path, LIMITS).unwrap();

        assert_eq!((info.width, info.height), (64, 32));
        let first = decode(&info.thumb).to_rgb8();
        let pixel = first.get_pixel(10, 10);
        assert!(pixel[0] > 200 && pixel[2] < 60, "{pixel:?}");
    }

    /// A (lossless) WebP decodes: its size and a thumbnail.
    #[test]
    fn a_webp_gets_its_size_and_a_thumbnail() {
        let dir = tempfile::tempdir().unwrap();
        let picture = two_tone(640, 480);
        let mut bytes = Vec::new();
        WebPEncoder::new_lossless(&mut bytes)
            .write_image(picture.as_raw(), 640, 480, ExtendedColorType::Rgb8)
            .unwrap();
        let path = write(&dir, "pic.part", &bytes);

        let info = inspect(&path, LIMITS).unwrap();

        assert_eq!((info.width, info.height), (640, 480));
        assert_eq!((info.thumb.width, info.thumb.height), (400, 300));
        assert_eq!(info.thumb.mime, "image/jpeg");
    }

    /// EXIF orientation 6 (turn 90° clockwise): width and height are as
    /// shown, the thumbnail is turned, and it carries no EXIF.
    #[test]
    fn exif_orientation_is_applied_and_dropped() {
        let dir = tempfile::tempdir().unwrap();
        // Stored 800×400, left half red: shown 400×800 with red on top.
        let bytes = jpeg_with_orientation(&two_tone(800, 400), 6);
        assert!(contains(&bytes, b"Exif\0\0"));
        let path = write(&dir, "phone.part", &bytes);

        let info = inspect(&path, LIMITS).unwrap();

        assert_eq!((info.width, info.height), (400, 800));
        assert_eq!((info.thumb.width, info.thumb.height), (200, 400));
        assert!(
            !contains(&info.thumb.bytes, b"Exif"),
            "the thumbnail carries EXIF"
        );
        let thumb = decode(&info.thumb).to_rgb8();
        assert_eq!(thumb.dimensions(), (200, 400));
        let top = thumb.get_pixel(100, 50);
        let bottom = thumb.get_pixel(100, 350);
        assert!(top[0] > 200 && top[2] < 60, "top {top:?}");
        assert!(bottom[2] > 200 && bottom[0] < 60, "bottom {bottom:?}");
    }

    /// A PNG header claiming 100,000 × 100,000 pixels in a tiny file is
    /// refused before anything is decoded; one just at the limit is
    /// measured by its header alone.
    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let bomb = claimed_png(100_000, 100_000);
        assert!(bomb.len() < 100);
        let path = write(&dir, "bomb.part", &bomb);

        match inspect(&path, LIMITS) {
            Err(ImageRefusal::TooLarge {
                width,
                height,
                max_pixels,
            }) => assert_eq!((width, height, max_pixels), (100_000, 100_000, 40_000_000)),
            other => panic!("{other:?}"),
        }

        // Within the limit, the same lie is found out by the decoder.
        let liar = write(&dir, "liar.part", &claimed_png(2_000, 2_000));
        assert!(matches!(
            inspect(&liar, LIMITS),
            Err(ImageRefusal::Undecodable(_))
        ));
    }

    /// A limit below a real picture's pixels refuses it too.
    #[test]
    fn the_pixel_limit_is_configurable() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "photo.part", &jpeg_bytes(&two_tone(100, 100)));
        let limits = ImageLimits {
            max_pixels: 9_999,
            thumb_max_px: 400,
        };
        assert!(matches!(
            inspect(&path, limits),
            Err(ImageRefusal::TooLarge {
                width: 100,
                height: 100,
                max_pixels: 9_999
            })
        ));
    }

    /// Truncated pictures (cut in half) are undecodable, not errors of the
    /// server and not panics.
    #[test]
    fn truncated_pictures_are_undecodable() {
        let dir = tempfile::tempdir().unwrap();
        let noise = RgbaImage::from_fn(300, 200, |x, y| {
            Rgba([x as u8, y as u8, (x ^ y) as u8, 200])
        });
        let jpeg = jpeg_bytes(&two_tone(300, 200));
        let png = png_rgba_bytes(&noise);
        let mut gif = Vec::new();
        GifEncoder::new(&mut gif)
            .encode_frames([image::Frame::new(noise.clone())])
            .unwrap();
        let mut webp = Vec::new();
        WebPEncoder::new_lossless(&mut webp)
            .write_image(noise.as_raw(), 300, 200, ExtendedColorType::Rgba8)
            .unwrap();
        for (name, bytes) in [
            ("cut.jpg.part", &jpeg),
            ("cut.png.part", &png),
            ("cut.gif.part", &gif),
            ("cut.webp.part", &webp),
        ] {
            let path = write(&dir, name, &bytes[..bytes.len() / 2]);
            match inspect(&path, LIMITS) {
                Err(ImageRefusal::Undecodable(reason)) => assert!(!reason.is_empty()),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    /// Bytes that are no picture at all (or only a signature), and a file
    /// that cannot be read, are undecodable.
    #[test]
    fn non_pictures_are_undecodable() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("text.part", &b"hello, world"[..]),
            ("sig.part", &b"\x89PNG\r\n\x1a\n"[..]),
            ("empty.part", &b""[..]),
            ("bmp.part", &b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0"[..]),
        ] {
            let path = write(&dir, name, bytes);
            assert!(
                matches!(inspect(&path, LIMITS), Err(ImageRefusal::Undecodable(_))),
                "{name}"
            );
        }
        match inspect(&dir.path().join("missing"), LIMITS) {
            Err(ImageRefusal::Undecodable(reason)) => {
                assert!(reason.contains("could not be read"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }

    /// Bytes after a JPEG's end marker (a motion photo's video) do not
    /// make it undecodable; an EXIF thumbnail's own end marker before the
    /// scan does not make a cut file whole.
    #[test]
    fn jpeg_end_markers_are_found_where_they_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut motion = jpeg_bytes(&two_tone(64, 48));
        motion.extend_from_slice(b"\0\0\0\x18ftypmp42 then a video");
        let path = write(&dir, "motion.part", &motion);
        assert_eq!(inspect(&path, LIMITS).unwrap().width, 64);

        // An APP1 segment whose payload holds FF D9, then a cut scan.
        let plain = jpeg_bytes(&two_tone(64, 48));
        let mut tricky = plain[..2].to_vec();
        tricky.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9]);
        tricky.extend_from_slice(&plain[2..plain.len() - 40]);
        let path = write(&dir, "tricky.part", &tricky);
        assert!(matches!(
            inspect(&path, LIMITS),
            Err(ImageRefusal::Undecodable(_))
        ));
    }

    /// A picture smaller than the thumbnail bound is not enlarged.
    #[test]
    fn a_tiny_picture_is_not_upscaled() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "tiny.part", &jpeg_bytes(&two_tone(10, 5)));
        let info = inspect(&path, LIMITS).unwrap();
        assert_eq!((info.width, info.height), (10, 5));
        assert_eq!((info.thumb.width, info.thumb.height), (10, 5));
        assert_eq!(decode(&info.thumb).dimensions(), (10, 5));
    }
}
