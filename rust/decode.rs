//! Turning stored bytes into text: gzip is detected by its magic number (never
//! by a file name), and invalid UTF-8 is replaced rather than rejected, because
//! a log that cannot be read is worse than a log with a few odd characters.

use std::borrow::Cow;
use std::io::Read;

use flate2::read::MultiGzDecoder;

use crate::error::{Error, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&GZIP_MAGIC)
}

/// Decompresses `data` when it is gzip (all members, as `gzip -c a b` writes),
/// otherwise borrows it unchanged.
pub fn decompress(data: &[u8]) -> Result<Cow<'_, [u8]>> {
    if !is_gzip(data) {
        return Ok(Cow::Borrowed(data));
    }
    if let Some(out) = decompress_single_member(data) {
        return Ok(Cow::Owned(out));
    }
    // Logs compress about 10:1; reserving that up front avoids most regrowth.
    let mut out = Vec::with_capacity(data.len().saturating_mul(8));
    MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(|err| Error::Gzip(gzip_reason(&err)))?;
    Ok(Cow::Owned(out))
}

/// The largest expansion DEFLATE can encode; a trailer claiming more lies.
const MAX_DEFLATE_RATIO: usize = 1032;

/// The common case, one gzip member whose trailer gives the decompressed size,
/// decompressed by libdeflate in one call: about twice as fast as streaming.
/// `None` for anything else (several members, a size over 4 GiB, a corrupt
/// or truncated stream): the streaming decoder then handles it and words
/// the error.
fn decompress_single_member(data: &[u8]) -> Option<Vec<u8>> {
    let trailer: [u8; 4] = data.get(data.len().checked_sub(4)?..)?.try_into().ok()?;
    let size = u32::from_le_bytes(trailer) as usize;
    if size > data.len().saturating_mul(MAX_DEFLATE_RATIO) {
        return None;
    }
    // Zeroed allocation maps pages lazily, so a size the data does not reach
    // costs address space, not memory.
    let mut out = vec![0; size];
    let (mut consumed, mut written) = (0, 0);
    // SAFETY: the pointers and lengths describe `data` and `out`, both alive
    // for the call; the decompressor is freed right after its one use.
    let result = unsafe {
        let decompressor = libdeflate_sys::libdeflate_alloc_decompressor();
        if decompressor.is_null() {
            return None;
        }
        let result = libdeflate_sys::libdeflate_gzip_decompress_ex(
            decompressor,
            data.as_ptr().cast(),
            data.len(),
            out.as_mut_ptr().cast(),
            out.len(),
            &mut consumed,
            &mut written,
        );
        libdeflate_sys::libdeflate_free_decompressor(decompressor);
        result
    };
    // Input left over means more members follow: the stream decoder reads them.
    let whole = result == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS
        && consumed == data.len()
        && written == size;
    whole.then_some(out)
}

fn gzip_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::UnexpectedEof => "the stream is truncated".to_owned(),
        _ => err.to_string(),
    }
}

/// Decompresses if needed and decodes as UTF-8, replacing invalid sequences
/// with U+FFFD. Valid, uncompressed input is borrowed without a copy.
pub fn decode_text(data: &[u8]) -> Result<Cow<'_, str>> {
    // `from_utf8` validates much faster than the lossy decoder, and almost
    // every log is valid; only an invalid one pays for the replacement pass.
    Ok(match decompress(data)? {
        Cow::Borrowed(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        },
        Cow::Owned(bytes) => Cow::Owned(match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            decode_text(b"hello").unwrap(),
            Cow::Borrowed("hello")
        ));
    }

    #[test]
    fn gzip_is_detected_by_content() {
        assert_eq!(decode_text(&gzip(b"a\nb\n")).unwrap(), "a\nb\n");
    }

    #[test]
    fn concatenated_members_are_all_read() {
        let mut data = gzip(b"first\n");
        data.extend(gzip(b"second\n"));
        assert_eq!(decode_text(&data).unwrap(), "first\nsecond\n");
    }

    #[test]
    fn single_member_of_any_size_round_trips() {
        for len in [0, 1, 100, 70_000] {
            let text: Vec<u8> = (0..len).map(|i| b"log line\n"[i % 9]).collect();
            assert_eq!(decompress(&gzip(&text)).unwrap().as_ref(), text.as_slice());
        }
    }

    #[test]
    fn a_lying_size_trailer_falls_back_to_streaming() {
        let mut data = gzip(b"short\n");
        let at = data.len() - 4;
        data[at..].copy_from_slice(&3u32.to_le_bytes());
        assert!(decompress_single_member(&data).is_none());
        assert!(
            decompress(&data).is_err(),
            "the stream decoder checks the size too"
        );
    }

    #[test]
    fn members_of_equal_size_are_all_read() {
        let mut data = gzip(b"first\n");
        data.extend(gzip(b"other\n"));
        assert_eq!(decode_text(&data).unwrap(), "first\nother\n");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let data = gzip(&b"some log line\n".repeat(1000));
        let err = decode_text(&data[..data.len() / 2]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "corrupt gzip input: the stream is truncated"
        );
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(decode_text(b"a\xffb").unwrap(), "a\u{fffd}b");
        assert_eq!(decode_text(&gzip(b"a\xffb")).unwrap(), "a\u{fffd}b");
    }
}
