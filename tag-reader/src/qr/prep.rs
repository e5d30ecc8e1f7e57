//! Preprocessing of grayscale frames before a QR decoder sees them.

use image::{GrayImage, Luma};

/// The image shrunk (by area averaging) so its longest side is at most
/// `max_side`, or a copy if it already fits.
pub fn fit_within(img: &GrayImage, max_side: u32) -> GrayImage {
    let (w, h) = img.dimensions();
    let longest = w.max(h);
    if longest <= max_side {
        return img.clone();
    }
    let scale = |v: u32| u32::try_from(u64::from(v) * u64::from(max_side) / u64::from(longest)).unwrap_or(1).max(1);
    image::imageops::thumbnail(img, scale(w), scale(h))
}

/// Twice the size in each direction, bilinear.
pub fn double(img: &GrayImage) -> GrayImage {
    image::imageops::resize(img, img.width() * 2, img.height() * 2, image::imageops::FilterType::Triangle)
}

/// Black below `level`, white from it up.
pub fn threshold(img: &GrayImage, level: u8) -> GrayImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        p[0] = if p[0] < level { 0 } else { 255 };
    }
    out
}

/// Half the size in each direction, each pixel the mean of a 2x2 block.
pub fn half(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() / 2, img.height() / 2);
    GrayImage::from_fn(w.max(1), h.max(1), |x, y| {
        let (x2, y2) = ((x * 2).min(img.width() - 1), (y * 2).min(img.height() - 1));
        let (x3, y3) = ((x2 + 1).min(img.width() - 1), (y2 + 1).min(img.height() - 1));
        let sum = u32::from(img.get_pixel(x2, y2)[0])
            + u32::from(img.get_pixel(x3, y2)[0])
            + u32::from(img.get_pixel(x2, y3)[0])
            + u32::from(img.get_pixel(x3, y3)[0]);
        Luma([u8::try_from(sum / 4).unwrap_or(u8::MAX)])
    })
}

/// Dark becomes light: a phone in dark mode shows light modules on black.
pub fn inverted(img: &GrayImage) -> GrayImage {
    let mut out = img.clone();
    image::imageops::invert(&mut out);
    out
}

/// Stretches the 1st to 99th percentile of brightness to the full range,
/// for washed-out or dim frames.
pub fn stretch_contrast(img: &GrayImage) -> GrayImage {
    let mut hist = [0u32; 256];
    for p in img.pixels() {
        hist[usize::from(p[0])] += 1;
    }
    let total: u64 = hist.iter().map(|c| u64::from(*c)).sum();
    let percentile = |q: u64| -> u32 {
        let target = total * q / 100;
        let mut acc = 0u64;
        for (v, count) in (0u32..).zip(hist.iter()) {
            acc += u64::from(*count);
            if acc > target {
                return v;
            }
        }
        255
    };
    let (lo, hi) = (percentile(1), percentile(99));
    if hi <= lo + 1 {
        return img.clone();
    }
    let span = hi - lo;
    let mut out = img.clone();
    for p in out.pixels_mut() {
        let v = u32::from(p[0]).saturating_sub(lo) * 255 / span;
        p[0] = u8::try_from(v.min(255)).unwrap_or(u8::MAX);
    }
    out
}

/// Black or white by comparing each pixel with the mean of its
/// neighbourhood (a window of about 1/12 of the short side), using an
/// integral image so the cost does not depend on the window size.
pub fn adaptive_binarise(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let stride = w + 1;
    let mut integral = vec![0u64; stride * (h + 1)];
    for y in 0..h {
        let mut row = 0u64;
        for x in 0..w {
            row += u64::from(img.as_raw()[y * w + x]);
            integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1] + row;
        }
    }
    let r = (w.min(h) / 24).max(4);
    let mut out = GrayImage::new(img.width(), img.height());
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let sum = integral[y1 * stride + x1] + integral[y0 * stride + x0]
                - integral[y0 * stride + x1]
                - integral[y1 * stride + x0];
            let n = ((y1 - y0) * (x1 - x0)) as u64;
            // 7/8 of the local mean: a module must be clearly darker than
            // its surroundings, so flat areas stay white.
            let dark = u64::from(img.as_raw()[y * w + x]) * 8 * n < sum * 7;
            out.as_mut()[y * w + x] = if dark { 0 } else { 255 };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_values() {
        let img = GrayImage::from_fn(100, 50, |x, _| Luma([u8::try_from(x * 2).unwrap()]));
        assert_eq!(fit_within(&img, 40).dimensions(), (40, 20));
        assert_eq!(fit_within(&img, 400).dimensions(), (100, 50));
        assert_eq!(half(&img).dimensions(), (50, 25));
        assert_eq!(half(&img).get_pixel(1, 0)[0], 5, "mean of 4 and 6");
        assert_eq!(inverted(&img).get_pixel(10, 0)[0], 255 - 20);
        let s = stretch_contrast(&img);
        assert!(s.get_pixel(1, 0)[0] == 0 && s.get_pixel(99, 0)[0] == 255);
        let b = adaptive_binarise(&img);
        assert!(b.pixels().all(|p| p[0] == 0 || p[0] == 255));
    }

    #[test]
    fn tiny_and_flat_images_do_not_break() {
        let one = GrayImage::new(1, 1);
        assert_eq!(half(&one).dimensions(), (1, 1));
        let flat = GrayImage::from_pixel(30, 30, Luma([128]));
        assert_eq!(stretch_contrast(&flat), flat);
        assert!(adaptive_binarise(&flat).pixels().all(|p| p[0] == 255));
    }
}
