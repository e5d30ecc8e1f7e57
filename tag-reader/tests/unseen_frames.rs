//! The QR pipeline on camera frames the corpus does not contain: codes
//! made here (a signed ticket, a VietQR payload), drawn into 1280×720
//! scenes with noise, at several sizes and positions, at low contrast, in
//! dark mode, blurred, rotated and JPEG-compressed. It guards against a
//! pipeline tuned to the corpus's files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_possible_truncation)]

use image::{GrayImage, ImageEncoder, Luma};
use qrcode::{Color, QrCode};
use tag_reader::qr;

const TEXTS: [&str; 2] = [
    "PT1.hn-hoan-kiem-01.entry-2.48213.1795430400.car.9F3A61C07B22D4E8A1C5",
    "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454065000005802VN62130809PK7H3K9QX6304ABCD",
];

/// A deterministic noise source.
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> u8 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 24) as u8
    }
}

/// A 1280×720 scene: a textured background, the code drawn with `module`
/// pixels per module at (x, y), dark and light levels given.
fn scene(text: &str, module: u32, x: u32, y: u32, dark: u8, light: u8, seed: u64) -> GrayImage {
    let code = QrCode::new(text.as_bytes()).unwrap();
    let w = code.width() as u32;
    let colors = code.to_colors();
    let mut noise = Noise(seed | 1);
    let mut img = GrayImage::from_fn(1280, 720, |px, py| {
        // A gradient with grain, like a lit car park.
        let base = 60 + (px * 80 / 1280 + py * 40 / 720) as u8;
        Luma([base.saturating_add(noise.next() % 24)])
    });
    let quiet = 4 * module;
    for dy in 0..(w * module + 2 * quiet) {
        for dx in 0..(w * module + 2 * quiet) {
            let (mx, my) = (dx.checked_sub(quiet).map(|v| v / module), dy.checked_sub(quiet).map(|v| v / module));
            let is_dark = match (mx, my) {
                (Some(mx), Some(my)) if mx < w && my < w => colors[(my * w + mx) as usize] == Color::Dark,
                _ => false,
            };
            let grain = noise.next() % 12;
            let v = if is_dark { dark.saturating_add(grain) } else { light.saturating_sub(grain) };
            img.put_pixel(x + dx, y + dy, Luma([v]));
        }
    }
    img
}

fn decodes(img: &GrayImage, text: &str) -> bool {
    qr::decode_gray(img).codes.iter().any(|c| c == text)
}

fn jpeg(img: &GrayImage, quality: u8) -> GrayImage {
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, quality)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8)
        .unwrap();
    image::load_from_memory(&buf).unwrap().to_luma8()
}

#[test]
fn codes_in_scenes_the_corpus_never_showed() {
    let mut failed = Vec::new();
    let mut total = 0;
    for (i, text) in TEXTS.iter().enumerate() {
        let seed = 0x9E37_79B9 + i as u64;
        let cases: Vec<(&str, GrayImage)> = vec![
            ("plain, off-centre", scene(text, 4, 700, 300, 20, 230, seed)),
            ("small (2 px modules)", scene(text, 2, 100, 500, 20, 230, seed)),
            ("large (8 px modules)", scene(text, 8, 300, 20, 20, 230, seed)),
            ("low contrast", scene(text, 4, 400, 200, 95, 165, seed)),
            ("dark mode (inverted)", scene(text, 4, 500, 250, 230, 25, seed)),
            ("blurred", image::imageops::blur(&scene(text, 5, 350, 150, 20, 230, seed), 1.2)),
            ("JPEG quality 40", jpeg(&scene(text, 4, 600, 100, 20, 230, seed), 40)),
            ("rotated 90°", image::imageops::rotate90(&scene(text, 4, 200, 200, 20, 230, seed))),
        ];
        for (what, img) in cases {
            total += 1;
            if !decodes(&img, text) {
                failed.push(format!("text {i}: {what}"));
            }
        }
    }
    assert!(failed.is_empty(), "{} of {total} unseen frames not decoded: {failed:?}", failed.len());
}

#[test]
fn a_scene_without_a_code_gives_nothing() {
    let mut noise = Noise(42);
    let img = GrayImage::from_fn(1280, 720, |_, _| Luma([noise.next()]));
    assert!(qr::decode_gray(&img).codes.is_empty());
}
