//! The text form of collated records, one line per record: its cells joined
//! by tabs, then a newline. A missing value is `\N`; backslashes, tabs and
//! line breaks inside strings are escaped (`\\`, `\t`, `\n`, `\r`), so every
//! record stays on one line and the text can be split back into fields.
//!
//! The columns are read in place from Arrow's buffers: the binding borrows
//! them from pyarrow, which has already turned the kinds the text writes as
//! Arrow does (floats, booleans, lists) into strings.

use crate::error::{Error, Result};

/// Written for a missing value.
pub const NULL: &[u8] = b"\\N";

/// Arrow's validity bitmap: bit `offset + row`, least significant first
/// within each byte, is set when the row has a value.
#[derive(Debug, Clone, Copy)]
pub struct ValidityBits<'a> {
    pub bits: &'a [u8],
    pub offset: usize,
}

impl ValidityBits<'_> {
    fn is_valid(&self, row: usize) -> bool {
        let bit = self.offset + row;
        self.bits[bit / 8] & (1 << (bit % 8)) != 0
    }
}

/// One column's rows, borrowed from Arrow's buffers as bytes (Arrow lays
/// numbers out little-endian), so that no alignment is assumed of them. Row
/// 0 is the first value of `values` or `offsets`; the validity bitmap has
/// its own offset.
#[derive(Debug, Clone, Copy)]
pub enum TextColumn<'a> {
    /// `int64`: 8 bytes per row.
    Int {
        values: &'a [u8],
        validity: Option<ValidityBits<'a>>,
    },
    /// `string`: `i32` offsets into `data`, one more than the rows.
    Str {
        offsets: &'a [u8],
        data: &'a [u8],
        validity: Option<ValidityBits<'a>>,
    },
}

impl TextColumn<'_> {
    fn validity(&self) -> Option<ValidityBits<'_>> {
        match *self {
            Self::Int { validity, .. } | Self::Str { validity, .. } => validity,
        }
    }

    /// Checks that `rows` rows are there, so that rendering cannot read
    /// outside the buffers.
    fn check(&self, rows: usize) -> Result<()> {
        if let Some(validity) = self.validity() {
            if validity.bits.len() * 8 < validity.offset + rows {
                return Err(invalid("the validity bitmap is shorter than the column"));
            }
        }
        match *self {
            Self::Int { values, .. } if values.len() < rows * 8 => {
                Err(invalid("an int64 column is shorter than its rows"))
            }
            Self::Int { .. } => Ok(()),
            Self::Str { offsets, data, .. } => {
                if offsets.len() < (rows + 1) * 4 {
                    return Err(invalid("a string column has fewer offsets than its rows"));
                }
                let mut previous = 0;
                for row in 0..=rows {
                    let offset = usize::try_from(offset_at(offsets, row))
                        .map_err(|_| invalid("a string offset is negative"))?;
                    if offset > data.len() || (row > 0 && offset < previous) {
                        return Err(invalid("a string offset is out of order or out of range"));
                    }
                    previous = offset;
                }
                Ok(())
            }
        }
    }

    /// About the bytes the cells of `rows` rows take, so that the text is
    /// allocated once; `check` has passed.
    fn text_size(&self, rows: usize) -> usize {
        match *self {
            // Times and counts: most are under 14 digits.
            Self::Int { .. } => rows * 14,
            Self::Str { offsets, .. } => {
                (offset_at(offsets, rows) - offset_at(offsets, 0)) as usize + rows
            }
        }
    }

    /// Appends row `row`'s cell; `check` has passed.
    fn push_cell(&self, row: usize, out: &mut Vec<u8>) {
        if self
            .validity()
            .is_some_and(|validity| !validity.is_valid(row))
        {
            out.extend_from_slice(NULL);
            return;
        }
        match *self {
            Self::Int { values, .. } => {
                let bytes = values[row * 8..row * 8 + 8].try_into().expect("8 bytes");
                let mut digits = itoa::Buffer::new();
                out.extend_from_slice(digits.format(i64::from_le_bytes(bytes)).as_bytes());
            }
            Self::Str { offsets, data, .. } => {
                // Offsets were checked to be in range and in order.
                let start = offset_at(offsets, row) as usize;
                let end = offset_at(offsets, row + 1) as usize;
                push_escaped(&data[start..end], out);
            }
        }
    }
}

fn offset_at(offsets: &[u8], index: usize) -> i32 {
    i32::from_le_bytes(
        offsets[index * 4..index * 4 + 4]
            .try_into()
            .expect("4 bytes"),
    )
}

fn invalid(reason: &str) -> Error {
    Error::InvalidColumn(reason.to_owned())
}

/// Most values need no escape: they are copied whole once a scan finds none
/// (a scan without an early exit, which the compiler vectorizes).
fn push_escaped(value: &[u8], out: &mut Vec<u8>) {
    let escapes = value.iter().fold(false, |found, &byte| {
        found | (byte == b'\\') | (byte == b'\t') | (byte == b'\n') | (byte == b'\r')
    });
    if !escapes {
        out.extend_from_slice(value);
        return;
    }
    for &byte in value {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
}

/// The lines of `rows` records whose cells are `columns`, in order.
pub fn text_lines(columns: &[TextColumn<'_>], rows: usize) -> Result<Vec<u8>> {
    for column in columns {
        column.check(rows)?;
    }
    let size: usize = columns.iter().map(|column| column.text_size(rows)).sum();
    let mut out = Vec::with_capacity(size + rows);
    for row in 0..rows {
        for (index, column) in columns.iter().enumerate() {
            if index > 0 {
                out.push(b'\t');
            }
            column.push_cell(row, &mut out);
        }
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Arrow buffers of a nullable string column.
    fn strings(values: &[Option<&str>]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let mut offsets = 0i32.to_le_bytes().to_vec();
        let mut data = Vec::new();
        let mut bits = vec![0u8; values.len().div_ceil(8)];
        for (row, value) in values.iter().enumerate() {
            if let Some(value) = value {
                data.extend_from_slice(value.as_bytes());
                bits[row / 8] |= 1 << (row % 8);
            }
            offsets.extend_from_slice(&i32::try_from(data.len()).unwrap().to_le_bytes());
        }
        (offsets, data, bits)
    }

    fn ints(values: &[i64]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect()
    }

    /// The format as the module docs state it, one value at a time.
    fn expected(rows: &[(Option<i64>, Option<String>)]) -> Vec<u8> {
        let mut text = String::new();
        for (number, string) in rows {
            text += &number.map_or("\\N".to_owned(), |n| n.to_string());
            text += "\t";
            text += &string.as_ref().map_or("\\N".to_owned(), |s| {
                s.replace('\\', "\\\\")
                    .replace('\t', "\\t")
                    .replace('\n', "\\n")
                    .replace('\r', "\\r")
            });
            text += "\n";
        }
        text.into_bytes()
    }

    #[test]
    fn cells_are_escaped_and_missing_values_are_marked() {
        let (offsets, data, bits) = strings(&[Some("a\tb\\c\r\nd"), None, Some("")]);
        let values = ints(&[-5, 0, i64::MAX]);
        let columns = [
            TextColumn::Int {
                values: &values,
                validity: None,
            },
            TextColumn::Str {
                offsets: &offsets,
                data: &data,
                validity: Some(ValidityBits {
                    bits: &bits,
                    offset: 0,
                }),
            },
        ];
        assert_eq!(
            text_lines(&columns, 3).unwrap(),
            b"-5\ta\\tb\\\\c\\r\\nd\n0\t\\N\n9223372036854775807\t\n"
        );
    }

    #[test]
    fn a_validity_offset_shifts_the_bits_only() {
        let values = ints(&[1, 2]);
        let bits = [0b0000_0100];
        let columns = [TextColumn::Int {
            values: &values,
            validity: Some(ValidityBits {
                bits: &bits,
                offset: 1,
            }),
        }];
        assert_eq!(text_lines(&columns, 2).unwrap(), b"\\N\n2\n");
    }

    #[test]
    fn columns_too_short_for_their_rows_are_refused() {
        let values = ints(&[1]);
        let short = [TextColumn::Int {
            values: &values,
            validity: None,
        }];
        assert!(matches!(
            text_lines(&short, 2),
            Err(Error::InvalidColumn(_))
        ));
        let offsets = [0i32, 4, 2]
            .iter()
            .flat_map(|o| o.to_le_bytes())
            .collect::<Vec<_>>();
        let backwards = [TextColumn::Str {
            offsets: &offsets,
            data: b"abcd",
            validity: None,
        }];
        assert!(matches!(
            text_lines(&backwards, 2),
            Err(Error::InvalidColumn(_))
        ));
        let beyond = [TextColumn::Str {
            offsets: &offsets[..8],
            data: b"ab",
            validity: None,
        }];
        assert!(matches!(
            text_lines(&beyond, 1),
            Err(Error::InvalidColumn(_))
        ));
    }

    proptest! {
        #[test]
        fn lines_are_the_stated_format(
            rows in prop::collection::vec(
                (prop::option::of(any::<i64>()), prop::option::of("[a-z\\\\\t\n\r é]{0,8}")),
                0..40,
            )
        ) {
            let numbers: Vec<i64> = rows.iter().map(|(n, _)| n.unwrap_or(0)).collect();
            let mut number_bits = vec![0u8; rows.len().div_ceil(8)];
            for (row, (number, _)) in rows.iter().enumerate() {
                if number.is_some() {
                    number_bits[row / 8] |= 1 << (row % 8);
                }
            }
            let texts: Vec<Option<&str>> = rows.iter().map(|(_, s)| s.as_deref()).collect();
            let (offsets, data, string_bits) = strings(&texts);
            let values = ints(&numbers);
            let columns = [
                TextColumn::Int {
                    values: &values,
                    validity: Some(ValidityBits { bits: &number_bits, offset: 0 }),
                },
                TextColumn::Str {
                    offsets: &offsets,
                    data: &data,
                    validity: Some(ValidityBits { bits: &string_bits, offset: 0 }),
                },
            ];
            let lines = text_lines(&columns, rows.len()).unwrap();
            prop_assert_eq!(lines.iter().filter(|&&b| b == b'\n').count(), rows.len());
            prop_assert_eq!(lines, expected(&rows));
        }
    }
}
