//! Turning stored bytes into text: gzip is detected by its magic number (never
//! by a file name), and invalid UTF-8 is replaced rather than rejected, because
//! a log that cannot be read is worse than a log with a few odd characters.
//!
//! A ceiling on the decompressed size is enforced while decompressing, never
//! after: a few megabytes of gzip can expand to gigabytes, and the process
//! must fail with an error, not be killed for memory. Buffers grow with
//! `try_reserve`, so an allocation the machine refuses is an error too.

use std::borrow::Cow;
use std::io::Read;

use flate2::bufread::GzDecoder;

use crate::error::{Error, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How much the streaming decoder hands over per read.
const READ_CHUNK: usize = 256 << 10;

pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&GZIP_MAGIC)
}

/// Decompresses `data` when it is gzip (all members, as `gzip -c a b` writes,
/// and NUL bytes some uploaders pad the file with after the last member),
/// otherwise borrows it unchanged. Output (or plain input) longer than
/// `limit` bytes is `Error::TooLarge`; `None` sets no ceiling.
pub fn decompress(data: &[u8], limit: Option<usize>) -> Result<Cow<'_, [u8]>> {
    if !is_gzip(data) {
        check_limit(data.len(), limit)?;
        return Ok(Cow::Borrowed(data));
    }
    let ceiling = limit.unwrap_or(usize::MAX);
    match decompress_single_member(data, ceiling) {
        FastPath::Done(out) => return Ok(Cow::Owned(out)),
        FastPath::TooLarge => return Err(too_large(ceiling)),
        FastPath::Stream => {}
    }
    decompress_streaming(data, ceiling).map(Cow::Owned)
}

/// `Error::TooLarge` when `len` bytes are over `limit`: for text that needs no
/// decoding.
pub fn check_limit(len: usize, limit: Option<usize>) -> Result<()> {
    match limit {
        Some(limit) if len > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

fn too_large(limit: usize) -> Error {
    Error::TooLarge { limit }
}

/// Reads every member with a ceiling on the total, growing the output as it
/// fills so that memory follows what the data really expands to.
fn decompress_streaming(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    // Logs compress about 10:1; reserving that up front avoids most regrowth.
    let mut out = Vec::new();
    reserve(&mut out, data.len().saturating_mul(8).min(limit))?;
    let mut chunk = vec![0; READ_CHUNK];
    let mut rest = data;
    loop {
        let mut member = GzDecoder::new(rest);
        loop {
            let read = match member.read(&mut chunk) {
                Ok(0) => break,
                Ok(read) => read,
                Err(err) => return Err(Error::Gzip(gzip_reason(&err))),
            };
            if read > limit - out.len() {
                return Err(too_large(limit));
            }
            grow_for(&mut out, read, limit)?;
            out.extend_from_slice(&chunk[..read]);
        }
        // The bufread decoder consumes exactly its member: what is left
        // is the next member, padding, or junk.
        rest = member.into_inner();
        match after_member(rest) {
            AfterMember::Member => {}
            AfterMember::End => return Ok(out),
            AfterMember::Junk => {
                return Err(Error::Gzip("unexpected data after the last member".into()))
            }
        }
    }
}

enum AfterMember {
    Member,
    /// Nothing, or only NUL padding.
    End,
    Junk,
}

fn after_member(rest: &[u8]) -> AfterMember {
    if is_gzip(rest) {
        AfterMember::Member
    } else if rest.iter().all(|&byte| byte == 0) {
        AfterMember::End
    } else {
        AfterMember::Junk
    }
}

/// Makes room for `additional` more bytes: doubling, as `Vec` does, but never
/// past `limit`, so a log just under the ceiling does not reserve twice it.
fn grow_for(out: &mut Vec<u8>, additional: usize, limit: usize) -> Result<()> {
    let needed = out.len() + additional;
    if needed <= out.capacity() {
        return Ok(());
    }
    let target = out
        .capacity()
        .saturating_mul(2)
        .clamp(needed, limit.max(needed));
    reserve(out, target - out.len())
}

/// `Vec::try_reserve_exact`, failing with `Error::OutOfMemory` instead of
/// aborting the process.
fn reserve(out: &mut Vec<u8>, additional: usize) -> Result<()> {
    out.try_reserve_exact(additional)
        .map_err(|_| Error::OutOfMemory {
            bytes: out.len().saturating_add(additional),
        })
}

/// The largest expansion DEFLATE can encode; a trailer claiming more lies.
const MAX_DEFLATE_RATIO: usize = 1032;

enum FastPath {
    Done(Vec<u8>),
    /// The member expands past the ceiling.
    TooLarge,
    /// Not the simple case: the streaming decoder handles it and words any
    /// error.
    Stream,
}

/// The common case, one gzip member, decompressed by libdeflate in one call:
/// about twice as fast as streaming. libdeflate needs the whole output buffer
/// up front; its size comes from the trailer, which is only a hint (it is the
/// last member's size modulo 4 GiB, and anyone can write it), so the buffer
/// is never larger than the ceiling, and output that does not fit goes to the
/// streaming decoder, or is `TooLarge` when the buffer was the ceiling.
fn decompress_single_member(data: &[u8], limit: usize) -> FastPath {
    let Some(claimed) = data
        .len()
        .checked_sub(4)
        .and_then(|at| data[at..].try_into().ok())
        .map(|trailer: [u8; 4]| u32::from_le_bytes(trailer) as usize)
    else {
        return FastPath::Stream;
    };
    if claimed > data.len().saturating_mul(MAX_DEFLATE_RATIO) {
        return FastPath::Stream;
    }
    let capacity = claimed.min(limit);
    let mut out: Vec<u8> = Vec::new();
    // A size the machine cannot give may still be a lie: streaming finds out.
    if out.try_reserve_exact(capacity).is_err() {
        return FastPath::Stream;
    }
    let (mut consumed, mut written) = (0, 0);
    // SAFETY: the pointers and lengths describe `data` and the reserved
    // capacity of `out`, both alive for the call; libdeflate writes at most
    // `capacity` bytes and reports how many in `written`, which is all that
    // `set_len` then exposes. The decompressor is freed right after its one
    // use.
    let result = unsafe {
        let decompressor = libdeflate_sys::libdeflate_alloc_decompressor();
        if decompressor.is_null() {
            return FastPath::Stream;
        }
        let result = libdeflate_sys::libdeflate_gzip_decompress_ex(
            decompressor,
            data.as_ptr().cast(),
            data.len(),
            out.as_mut_ptr().cast(),
            capacity,
            &mut consumed,
            &mut written,
        );
        libdeflate_sys::libdeflate_free_decompressor(decompressor);
        if result == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS {
            out.set_len(written);
        }
        result
    };
    if result == libdeflate_sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE
        && capacity == limit
    {
        return FastPath::TooLarge;
    }
    // Input left over means more members or padding follow: the stream
    // decoder reads them.
    let whole =
        result == libdeflate_sys::libdeflate_result_LIBDEFLATE_SUCCESS && consumed == data.len();
    if whole {
        FastPath::Done(out)
    } else {
        FastPath::Stream
    }
}

fn gzip_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::UnexpectedEof => "the stream is truncated".to_owned(),
        _ => err.to_string(),
    }
}

/// Decompresses if needed and decodes as UTF-8, replacing invalid sequences
/// with U+FFFD. Valid, uncompressed input is borrowed without a copy. `limit`
/// caps the decoded bytes as in `decompress`.
pub fn decode_text(data: &[u8], limit: Option<usize>) -> Result<Cow<'_, str>> {
    // `from_utf8` validates much faster than the lossy decoder, and almost
    // every log is valid; only an invalid one pays for the replacement pass.
    Ok(match decompress(data, limit)? {
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

    fn with_trailer_size(mut data: Vec<u8>, size: u32) -> Vec<u8> {
        let at = data.len() - 4;
        data[at..].copy_from_slice(&size.to_le_bytes());
        data
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            decode_text(b"hello", None).unwrap(),
            Cow::Borrowed("hello")
        ));
    }

    #[test]
    fn gzip_is_detected_by_content() {
        assert_eq!(decode_text(&gzip(b"a\nb\n"), None).unwrap(), "a\nb\n");
    }

    #[test]
    fn concatenated_members_are_all_read() {
        let mut data = gzip(b"first\n");
        data.extend(gzip(b"second\n"));
        assert_eq!(decode_text(&data, None).unwrap(), "first\nsecond\n");
    }

    #[test]
    fn single_member_of_any_size_round_trips() {
        for len in [0, 1, 100, 70_000] {
            let text: Vec<u8> = (0..len).map(|i| b"log line\n"[i % 9]).collect();
            let data = gzip(&text);
            assert!(matches!(
                decompress_single_member(&data, usize::MAX),
                FastPath::Done(out) if out == text
            ));
            assert_eq!(decompress(&data, None).unwrap().as_ref(), text.as_slice());
        }
    }

    #[test]
    fn a_lying_size_trailer_falls_back_to_streaming() {
        let data = with_trailer_size(gzip(b"short\n"), 3);
        assert!(matches!(
            decompress_single_member(&data, usize::MAX),
            FastPath::Stream
        ));
        assert!(
            decompress(&data, None).is_err(),
            "the stream decoder checks the size too"
        );
    }

    #[test]
    fn members_of_equal_size_are_all_read() {
        let mut data = gzip(b"first\n");
        data.extend(gzip(b"other\n"));
        assert_eq!(decode_text(&data, None).unwrap(), "first\nother\n");
    }

    #[test]
    fn truncated_gzip_is_an_error() {
        let data = gzip(&b"some log line\n".repeat(1000));
        let err = decode_text(&data[..data.len() / 2], None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "corrupt gzip input: the stream is truncated"
        );
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(decode_text(b"a\xffb", None).unwrap(), "a\u{fffd}b");
        assert_eq!(decode_text(&gzip(b"a\xffb"), None).unwrap(), "a\u{fffd}b");
    }

    #[test]
    fn nul_padding_after_the_last_member_is_accepted() {
        for members in [1, 2] {
            let mut data: Vec<u8> = (0..members).flat_map(|_| gzip(b"line\n")).collect();
            data.extend([0; 512]);
            assert_eq!(decode_text(&data, None).unwrap(), "line\n".repeat(members));
        }
    }

    #[test]
    fn other_data_after_the_last_member_is_an_error() {
        for junk in [&b"junk"[..], b"\0\0x", b"\x1f", b"\0\0\x1f\x8b"] {
            let mut data = gzip(b"line\n");
            data.extend(junk);
            let err = decode_text(&data, None).unwrap_err();
            assert!(matches!(err, Error::Gzip(_)), "{junk:?}: {err}");
        }
    }

    #[test]
    fn the_ceiling_holds_on_both_paths_and_for_plain_input() {
        let text = b"0123456789".repeat(10_000);
        let single = gzip(&text);
        let mut multi = gzip(&text[..50_000]);
        multi.extend(gzip(&text[50_000..]));
        for data in [&text[..], &single, &multi] {
            assert_eq!(
                decompress(data, Some(text.len())).unwrap().len(),
                text.len()
            );
            let err = decompress(data, Some(text.len() - 1)).unwrap_err();
            assert!(matches!(err, Error::TooLarge { limit } if limit == text.len() - 1));
        }
        assert!(matches!(
            decompress_single_member(&single, text.len() - 1),
            FastPath::TooLarge
        ));
        assert!(matches!(
            decompress_streaming(&multi, text.len() - 1),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn a_trailer_that_claims_little_does_not_lift_the_ceiling() {
        let text = vec![b'x'; 1 << 20];
        let data = with_trailer_size(gzip(&text), 10);
        let err = decompress(&data, Some(1000)).unwrap_err();
        assert!(matches!(err, Error::TooLarge { limit: 1000 }), "{err}");
    }

    #[test]
    fn a_trailer_that_claims_much_allocates_the_ceiling_at_most() {
        // The data is small, the trailer claims 1 MiB: within the ceiling it
        // is a mere corrupt stream, not a large one.
        let data = with_trailer_size(gzip(&[b'x'; 100]), 1 << 20);
        assert!(matches!(decompress(&data, Some(1000)), Err(Error::Gzip(_))));
    }

    #[test]
    fn an_allocation_the_machine_refuses_is_an_error() {
        let mut out = vec![0u8; 1];
        let err = reserve(&mut out, usize::MAX).unwrap_err();
        assert!(matches!(err, Error::OutOfMemory { .. }), "{err}");
    }

    #[test]
    fn the_ceiling_message_names_it_in_megabytes() {
        assert_eq!(
            too_large(64 << 20).to_string(),
            "the input is larger than the limit of 64 MB when decompressed"
        );
        assert_eq!(
            too_large(1000).to_string(),
            "the input is larger than the limit of 1000 bytes when decompressed"
        );
    }
}
