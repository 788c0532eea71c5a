//! Random access into gzip inputs. Showing one record of a compressed input used to mean
//! decompressing it from the start (2 s for a record behind 1 GB). [`GzipSeeker`] keeps
//! restart points instead: every [`RESTART_INTERVAL`] bytes of output it saves the inflater's
//! state and its 32 KiB window, so reaching any offset later inflates at most one interval.
//! Restart points are taken lazily, on the way to the first records asked for, and their
//! number is capped, so memory stays a few MB per GB of decompressed data.
//!
//! Gzip members follow each other (`MultiGzDecoder` semantics, as the loader reads them);
//! checksums are not verified here, the loader did that when it read the input.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

/// Decompressed bytes between restart points.
pub const RESTART_INTERVAL: u64 = 16 << 20;
/// Most restart points kept per input (4,096 cover 64 GB of decompressed data).
const MAX_RESTARTS: usize = 4096;
/// The inflater's window: the minimum ring buffer its wrapping mode takes.
const WINDOW: usize = 32 << 10;
/// Compressed bytes read per call.
const READ_SIZE: usize = 256 << 10;

/// Where the cursor is in the gzip stream.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Before a member's header (or at the end of the file).
    Header,
    /// Inside a member's deflate data.
    Deflate,
}

/// The full state of decompression at one point: enough to go on from there.
#[derive(Clone)]
struct Cursor {
    inflater: Box<DecompressorOxide>,
    /// The last 32 KiB of output, as a ring, which back-references read from.
    window: Box<[u8]>,
    /// Where the next output byte goes in `window`.
    window_pos: usize,
    /// Compressed bytes consumed.
    input_offset: u64,
    /// Decompressed bytes produced.
    output_offset: u64,
    phase: Phase,
    /// The data is corrupt after the output produced so far: the next step says so.
    failure: Option<String>,
}

impl Cursor {
    fn start() -> Cursor {
        Cursor {
            inflater: Box::default(),
            window: vec![0u8; WINDOW].into_boxed_slice(),
            window_pos: 0,
            input_offset: 0,
            output_offset: 0,
            phase: Phase::Header,
            failure: None,
        }
    }
}

/// Random access to the decompressed bytes of one gzip file.
pub struct GzipSeeker {
    file: File,
    /// Restart points in output order; the first is the start of the file.
    restarts: Vec<Cursor>,
    /// Where the last read stopped, to go on from there when reads move forward.
    current: Option<Cursor>,
}

impl GzipSeeker {
    /// A seeker over a gzip file (an open handle: reads are positional, so the handle may be
    /// shared, for example with the spool of standard input).
    pub fn new(file: File) -> GzipSeeker {
        GzipSeeker {
            file,
            restarts: vec![Cursor::start()],
            current: None,
        }
    }

    /// How many restart points are kept.
    pub fn restart_points(&self) -> usize {
        self.restarts.len()
    }

    /// Reads `len` decompressed bytes at decompressed `offset`.
    pub fn read_at(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let from_index = self
            .restarts
            .iter()
            .rposition(|c| c.output_offset <= offset)
            .unwrap_or(0);
        let mut cursor = match self.current.take() {
            Some(c)
                if c.output_offset <= offset
                    && c.output_offset >= self.restarts[from_index].output_offset =>
            {
                c
            }
            _ => self.restarts[from_index].clone(),
        };
        let mut out = Vec::with_capacity(len);
        let mut input = vec![0u8; READ_SIZE];
        while out.len() < len {
            let produced = self.step(&mut cursor, &mut input)?;
            let Some((start, count)) = produced else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("gzip data ends before byte {}", offset + len as u64),
                ));
            };
            // The bytes just written sit at window[start..start + count], ending at the
            // cursor's output offset.
            let end = cursor.output_offset;
            let begin = end - count as u64;
            let want_from = offset + out.len() as u64;
            if end > want_from {
                let skip = want_from.saturating_sub(begin) as usize;
                let take = (count - skip).min(len - out.len());
                out.extend_from_slice(&cursor.window[start + skip..start + skip + take]);
            }
        }
        self.current = Some(cursor);
        Ok(out)
    }

    /// Advances the cursor by one inflate call; returns where its output is in the window
    /// (start, count), or `None` at the end of the data.
    fn step(
        &mut self,
        cursor: &mut Cursor,
        input: &mut [u8],
    ) -> io::Result<Option<(usize, usize)>> {
        if let Some(failure) = &cursor.failure {
            return Err(io::Error::new(io::ErrorKind::InvalidData, failure.clone()));
        }
        loop {
            if cursor.phase == Phase::Header {
                match self.read_header(cursor.input_offset)? {
                    None => return Ok(None),
                    Some(header_len) => {
                        cursor.input_offset += header_len;
                        *cursor.inflater = DecompressorOxide::new();
                        cursor.phase = Phase::Deflate;
                    }
                }
            }
            let n = self.file.read_at(input, cursor.input_offset)?;
            let flags = if n == input.len() {
                inflate_flags::TINFL_FLAG_HAS_MORE_INPUT
            } else {
                0
            };
            let (status, used, written) = decompress(
                &mut cursor.inflater,
                &input[..n],
                &mut cursor.window,
                cursor.window_pos,
                flags,
            );
            cursor.input_offset += used as u64;
            let start = cursor.window_pos;
            cursor.window_pos = (cursor.window_pos + written) & (WINDOW - 1);
            let before = cursor.output_offset;
            cursor.output_offset += written as u64;
            match status {
                TINFLStatus::Done => {
                    // The member's trailer: CRC-32 and size.
                    cursor.input_offset += 8;
                    cursor.phase = Phase::Header;
                }
                TINFLStatus::HasMoreOutput | TINFLStatus::NeedsMoreInput
                    if written > 0 || used > 0 => {}
                TINFLStatus::HasMoreOutput | TINFLStatus::NeedsMoreInput => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "gzip data is cut short",
                    ));
                }
                other => {
                    let failure = format!("corrupt gzip data ({other:?})");
                    // The bytes inflated before the corruption are real output (the load
                    // read them too): hand them out, and fail on the next step.
                    if written > 0 {
                        cursor.failure = Some(failure);
                        return Ok(Some((start, written)));
                    }
                    return Err(io::Error::new(io::ErrorKind::InvalidData, failure));
                }
            }
            self.maybe_keep(cursor, before);
            if written > 0 {
                return Ok(Some((start, written)));
            }
        }
    }

    /// Saves a restart point when the cursor passed the next interval boundary.
    fn maybe_keep(&mut self, cursor: &Cursor, before: u64) {
        let last = self.restarts.last().map_or(0, |c| c.output_offset);
        if cursor.phase == Phase::Deflate
            && cursor.output_offset / RESTART_INTERVAL > before / RESTART_INTERVAL
            && cursor.output_offset >= last + RESTART_INTERVAL
            && self.restarts.len() < MAX_RESTARTS
        {
            self.restarts.push(cursor.clone());
        }
    }

    /// The length of the member header at `offset`, or `None` at the end of the file.
    fn read_header(&self, offset: u64) -> io::Result<Option<u64>> {
        let bad =
            |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("gzip header: {what}"));
        let mut fixed = [0u8; 10];
        let n = self.file.read_at(&mut fixed, offset)?;
        if n == 0 {
            return Ok(None);
        }
        if n < 10 || fixed[0] != 0x1f || fixed[1] != 0x8b || fixed[2] != 8 {
            // Trailing bytes after the last member end the data, as for MultiGzDecoder.
            return Ok(None);
        }
        let flags = fixed[3];
        let mut at = offset + 10;
        if flags & 0x04 != 0 {
            let mut xlen = [0u8; 2];
            if self.file.read_at(&mut xlen, at)? < 2 {
                return Err(bad("cut in the extra field"));
            }
            at += 2 + u64::from(u16::from_le_bytes(xlen));
        }
        for flag in [0x08u8, 0x10] {
            // File name, comment: zero-terminated.
            if flags & flag != 0 {
                at = self.skip_zero_terminated(at)?;
            }
        }
        if flags & 0x02 != 0 {
            at += 2;
        }
        Ok(Some(at - offset))
    }

    fn skip_zero_terminated(&self, mut at: u64) -> io::Result<u64> {
        let mut buf = [0u8; 512];
        loop {
            let n = self.file.read_at(&mut buf, at)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "gzip header: name or comment never ends",
                ));
            }
            if let Some(i) = memchr::memchr(0, &buf[..n]) {
                return Ok(at + i as u64 + 1);
            }
            at += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(members: &[&[u8]]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        for member in members {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(member).unwrap();
            file.write_all(&enc.finish().unwrap()).unwrap();
        }
        file.flush().unwrap();
        file
    }

    /// Bytes that compress but not to nothing: numbered lines.
    fn lines(n: usize, tag: &str) -> Vec<u8> {
        (0..n)
            .map(|i| {
                format!(
                    "{{\"n\":{i},\"tag\":\"{tag}\",\"pad\":\"{}\"}}\n",
                    i * 7919 % 100_003
                )
            })
            .collect::<String>()
            .into_bytes()
    }

    #[test]
    fn every_offset_reads_what_sequential_decompression_gives() {
        let a = lines(1_000_000, "a"); // about 38 MB: two restart points past the start
        let b = lines(1_000, "b");
        let file = gzip(&[&a, &b]);
        let whole: Vec<u8> = [a.as_slice(), b.as_slice()].concat();
        let mut seeker = GzipSeeker::new(File::open(file.path()).unwrap());
        // Far first, then backwards, then forwards again, then across the member boundary.
        let probes = [
            (whole.len() as u64 - 500, 500),
            (5, 100),
            (RESTART_INTERVAL - 10, 20),
            (2 * RESTART_INTERVAL + 3, 4096),
            (a.len() as u64 - 30, 60),
            (0, 1),
        ];
        for (offset, len) in probes {
            let got = seeker.read_at(offset, len).unwrap();
            assert_eq!(
                got,
                whole[offset as usize..offset as usize + len],
                "at {offset}"
            );
        }
        assert!(seeker.restart_points() >= 3, "{}", seeker.restart_points());
        let past = seeker.read_at(whole.len() as u64 - 2, 10);
        assert_eq!(past.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn broken_gzip_is_an_error_not_a_panic() {
        let file = gzip(&[&lines(1000, "x")]);
        let mut bytes = std::fs::read(file.path()).unwrap();
        let cut = bytes.len() / 2;
        bytes.truncate(cut);
        let mut broken = tempfile::NamedTempFile::new().unwrap();
        broken.write_all(&bytes).unwrap();
        let mut seeker = GzipSeeker::new(File::open(broken.path()).unwrap());
        assert!(seeker.read_at(40_000, 100).is_err());
        for b in bytes.iter_mut().skip(20).step_by(7) {
            *b ^= 0x5a;
        }
        let mut garbled = tempfile::NamedTempFile::new().unwrap();
        garbled.write_all(&bytes).unwrap();
        let mut seeker = GzipSeeker::new(File::open(garbled.path()).unwrap());
        assert!(seeker.read_at(40_000, 100).is_err());
    }
}
