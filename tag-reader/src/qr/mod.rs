//! QR codes from camera frames: printed tickets and phone screens.
//!
//! A frame goes through a short list of attempts, cheapest first, and the
//! first attempt that decodes anything wins. Two decoders take part: rxing
//! (a port of zxing-cpp's QR detector, good at finding codes in a scene)
//! and rqrr (good on clean, evenly lit codes). Each decoder call is
//! isolated with `catch_unwind`: a decoder bug on a strange frame must not
//! take a gate down (rqrr 0.11 is known to panic on real photos).
//!
//! Layout:
//! - `mod.rs`: the pipeline and its attempts;
//! - [`bench`]: decode rate and timing over a labelled corpus;
//! - [`cli`]: the `decode-qr` and `bench-qr` commands;
//! - [`prep`]: preprocessing: downscaling, inversion, contrast stretch,
//!   adaptive binarisation;
//! - [`watch`]: camera frames dropped into a directory, published as reads.

pub mod bench;
pub mod cli;
pub mod prep;
pub mod watch;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use image::GrayImage;
use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::multi::MultipleBarcodeReader;
use rxing::qrcode::cpp_port::QrReader;
use rxing::{BarcodeFormat, Binarizer, BinaryBitmap, DecodeHints, Luma8Source};

/// Why a frame could not be read at all (as opposed to holding no code).
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("not a PNG or JPEG image: {0}")]
    Image(#[from] image::ImageError),
    #[error("a {width}x{height} buffer needs {need} bytes, got {got}")]
    BadBuffer { width: u32, height: u32, need: usize, got: usize },
    #[error("a {width}x{height} frame is larger than the {max} pixel limit")]
    TooLarge { width: u32, height: u32, max: u64 },
}

/// Frames above this many pixels are refused: 8K video is 33 Mpx.
pub const MAX_PIXELS: u64 = 40_000_000;

/// One way of looking at a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attempt {
    /// rxing on the frame (large frames downscaled to [`WORK_SIDE`]).
    Rxing,
    /// rqrr on the same image.
    Rqrr,
    /// rxing with its slower, more thorough search.
    RxingHarder,
    /// The frame at full resolution, when the first attempts downscaled it.
    FullResolution,
    /// Light-on-dark codes (a phone in dark mode).
    Inverted,
    /// Local-contrast binarisation, for glare and shadows.
    Adaptive,
    /// Half resolution: smooths noise and blur in high-resolution photos.
    HalfScale,
    /// Global histogram binarisation after a contrast stretch.
    Stretched,
    /// Small frames enlarged twice, so thin modules get whole pixels.
    Upscaled,
    /// A sweep of global thresholds over the enlarged frame, for blurred
    /// codes on curved surfaces where every local method fails.
    ThresholdSweep,
}

/// How hard to look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Effort {
    /// The first three attempts only: for live video, where most frames
    /// hold no code and the next frame is 40 ms away.
    Fast,
    /// Every attempt: for a still frame that must be read if at all possible.
    #[default]
    Thorough,
}

impl Effort {
    fn attempts(self) -> usize {
        match self {
            Effort::Fast => 3,
            Effort::Thorough => usize::MAX,
        }
    }
}

/// Longest side the first attempts work at; larger frames are shrunk
/// first, which is faster and, for phone photos, usually no less reliable.
pub const WORK_SIDE: u32 = 1280;

/// The result of decoding one frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The texts of the codes found, without duplicates.
    pub codes: Vec<String>,
    /// The attempt that found them, if any.
    pub attempt: Option<Attempt>,
    /// Decoder panics caught (and survived) while decoding this frame.
    pub panics: u32,
}

/// Decodes the QR codes in a PNG or JPEG file.
pub fn decode_file(path: &Path) -> Result<Decoded, QrError> {
    let bytes = std::fs::read(path).map_err(|source| QrError::Io { path: path.display().to_string(), source })?;
    decode_encoded(&bytes)
}

/// Decodes the QR codes in an encoded image (PNG or JPEG bytes).
pub fn decode_encoded(bytes: &[u8]) -> Result<Decoded, QrError> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| {
        QrError::Image(image::ImageError::IoError(e)) // only a Cursor read: cannot fail in practice
    })?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let (w, h) = reader.into_dimensions().map_err(QrError::Image).map(|d| (u64::from(d.0), u64::from(d.1)))?;
    if w * h > MAX_PIXELS {
        return Err(QrError::TooLarge {
            width: u32::try_from(w).unwrap_or(u32::MAX),
            height: u32::try_from(h).unwrap_or(u32::MAX),
            max: MAX_PIXELS,
        });
    }
    let img = image::load_from_memory(bytes)?;
    Ok(decode_gray(&img.to_luma8()))
}

/// Decodes the QR codes in a raw 8-bit grayscale buffer, row-major.
pub fn decode_raw(width: u32, height: u32, luma: &[u8]) -> Result<Decoded, QrError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(QrError::TooLarge { width, height, max: MAX_PIXELS });
    }
    let need = usize::try_from(pixels).unwrap_or(usize::MAX);
    if luma.len() != need {
        return Err(QrError::BadBuffer { width, height, need, got: luma.len() });
    }
    let img = GrayImage::from_raw(width, height, luma.to_vec()).ok_or(QrError::BadBuffer {
        width,
        height,
        need,
        got: luma.len(),
    })?;
    Ok(decode_gray(&img))
}

/// One attempt: decodes, counting caught decoder panics.
type AttemptFn<'a> = dyn Fn(&mut u32) -> Vec<String> + 'a;

/// Runs every attempt in order until one finds a code.
pub fn decode_gray(full: &GrayImage) -> Decoded {
    decode_gray_with(full, Effort::Thorough)
}

/// Runs the attempts `effort` allows, in order, until one finds a code.
pub fn decode_gray_with(full: &GrayImage, effort: Effort) -> Decoded {
    let mut out = Decoded::default();
    if full.width() < 21 || full.height() < 21 {
        return out; // smaller than the smallest QR code
    }
    let work = prep::fit_within(full, WORK_SIDE);
    let downscaled = work.dimensions() != full.dimensions();
    let small = work.width().max(work.height()) <= WORK_SIDE / 2;
    let attempts: [(Attempt, &AttemptFn<'_>); 10] = [
        (Attempt::Rxing, &|p| rxing_decode(&work, false, Binarize::Hybrid, p)),
        (Attempt::Rqrr, &|p| rqrr_decode(&work, p)),
        (Attempt::RxingHarder, &|p| rxing_decode(&work, true, Binarize::Hybrid, p)),
        (Attempt::FullResolution, &|p| {
            if downscaled { either(full, p) } else { Vec::new() }
        }),
        (Attempt::Inverted, &|p| rxing_decode(&prep::inverted(&work), true, Binarize::Hybrid, p)),
        (Attempt::Adaptive, &|p| either(&prep::adaptive_binarise(&work), p)),
        (Attempt::HalfScale, &|p| either(&prep::half(&work), p)),
        (Attempt::Stretched, &|p| rxing_decode(&prep::stretch_contrast(&work), true, Binarize::Global, p)),
        (Attempt::Upscaled, &|p| if small { either(&prep::double(&work), p) } else { Vec::new() }),
        (Attempt::ThresholdSweep, &|p| {
            let base = if small { prep::double(&work) } else { work.clone() };
            (90..=210)
                .step_by(10)
                .map(|t| rqrr_decode(&prep::threshold(&base, t), p))
                .find(|c| !c.is_empty())
                .unwrap_or_default()
        }),
    ];
    for (attempt, run) in attempts.into_iter().take(effort.attempts()) {
        let codes = run(&mut out.panics);
        if !codes.is_empty() {
            out.codes = codes;
            out.attempt = Some(attempt);
            break;
        }
    }
    out
}

/// rxing, then rqrr, on one image.
fn either(img: &GrayImage, panics: &mut u32) -> Vec<String> {
    let codes = rxing_decode(img, true, Binarize::Hybrid, panics);
    if codes.is_empty() { rqrr_decode(img, panics) } else { codes }
}

#[derive(Clone, Copy)]
enum Binarize {
    Hybrid,
    Global,
}

fn rxing_decode(img: &GrayImage, harder: bool, binarize: Binarize, panics: &mut u32) -> Vec<String> {
    let hints = DecodeHints {
        PossibleFormats: Some([BarcodeFormat::QR_CODE].into_iter().collect()),
        TryHarder: Some(harder),
        ..DecodeHints::default()
    };
    let run = || -> Vec<String> {
        let Ok(source) = Luma8Source::new_with_slice(img.as_raw(), img.width(), img.height()) else {
            return Vec::new();
        };
        match binarize {
            Binarize::Hybrid => decode_bitmap(BinaryBitmap::new(HybridBinarizer::new(source)), &hints),
            Binarize::Global => decode_bitmap(BinaryBitmap::new(GlobalHistogramBinarizer::new(source)), &hints),
        }
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(found) => found,
        Err(_) => {
            *panics += 1;
            Vec::new()
        }
    }
}

/// Every code rxing finds in the bitmap (a frame may hold more than one:
/// a ticket and a phone, or a code printed inside another).
fn decode_bitmap<B: Binarizer>(mut bitmap: BinaryBitmap<B>, hints: &DecodeHints) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    for r in QrReader.decode_multiple_with_hints(&mut bitmap, hints).unwrap_or_default() {
        if !codes.iter().any(|c| c == r.getText()) {
            codes.push(r.getText().to_owned());
        }
    }
    codes
}

fn rqrr_decode(img: &GrayImage, panics: &mut u32) -> Vec<String> {
    let run = || {
        let mut prepared = rqrr::PreparedImage::prepare(img.clone());
        let mut codes: Vec<String> = Vec::new();
        for grid in prepared.detect_grids() {
            if let Ok((_, text)) = grid.decode() {
                if !codes.contains(&text) {
                    codes.push(text);
                }
            }
        }
        codes
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| {
        *panics += 1;
        Vec::new()
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn corpus(rel: &str) -> PathBuf {
        let name = format!("zxing-{}", rel.replace('/', "-"));
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qr").join(name)
    }

    fn gray(rel: &str) -> GrayImage {
        image::open(corpus(rel)).unwrap().to_luma8()
    }

    fn expected(rel: &str) -> String {
        std::fs::read_to_string(corpus(rel).with_extension("txt")).unwrap()
    }

    proptest::proptest! {
        // Images are slow to decode: 48 frames unless PROPTEST_CASES asks for more.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
        ))]
        /// A camera frame of random or corrupted bytes: decoded or refused,
        /// never a panic (the frame may still decode if the damage missed
        /// the code).
        #[test]
        fn hostile_frames_never_panic(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            at in proptest::prelude::any::<usize>(),
            byte in proptest::prelude::any::<u8>(),
            cut in proptest::prelude::any::<usize>(),
        ) {
            let _ = decode_encoded(&raw);
            let real = std::fs::read(corpus("qrcode-2/1.png")).unwrap();
            let mut damaged = real.clone();
            let i = at % damaged.len();
            damaged[i] = byte;
            let _ = decode_encoded(&damaged);
            let _ = decode_encoded(&real[..cut % real.len()]);
        }
    }

    #[test]
    fn a_decoder_panic_is_caught_not_fatal() {
        // rqrr 0.11 panics on this real photo (docs/mqtt.md, "TCP_NODELAY on every hop").
        let img = gray("qrcode-6/7.png");
        let mut panics = 0;
        let codes = rqrr_decode(&img, &mut panics);
        assert!(panics == 1 || !codes.is_empty(), "rqrr neither decoded nor panicked: {codes:?}");
        // The whole pipeline reads it anyway.
        let d = decode_gray(&img);
        assert!(d.codes.contains(&expected("qrcode-6/7.png")), "{d:?}");
    }

    #[test]
    fn dark_mode_codes_are_read() {
        let mut img = gray("qrcode-2/1.png");
        image::imageops::invert(&mut img);
        let d = decode_gray(&img);
        assert!(d.codes.contains(&expected("qrcode-2/1.png")), "{d:?}");
        assert_eq!(d.attempt, Some(Attempt::Inverted));
        assert!(decode_gray_with(&img, Effort::Fast).codes.is_empty(), "fast effort stops before inversion");
    }

    #[test]
    fn raw_gray_buffers() {
        let img = gray("qrcode-2/1.png");
        let d = decode_raw(img.width(), img.height(), img.as_raw()).unwrap();
        assert!(d.codes.contains(&expected("qrcode-2/1.png")), "{d:?}");
        assert!(matches!(decode_raw(10, 10, &[0; 99]), Err(QrError::BadBuffer { need: 100, got: 99, .. })));
        assert!(matches!(decode_raw(100_000, 100_000, &[]), Err(QrError::TooLarge { .. })));
    }

    #[test]
    fn frames_without_a_code_give_nothing_quietly() {
        let flat = GrayImage::from_pixel(640, 480, image::Luma([128]));
        let d = decode_gray_with(&flat, Effort::Fast);
        assert!(d.codes.is_empty() && d.attempt.is_none() && d.panics == 0);
        assert!(decode_gray(&GrayImage::new(5, 5)).codes.is_empty(), "smaller than any QR code");
        assert!(matches!(decode_encoded(b"not an image"), Err(QrError::Image(_))));
    }
}
