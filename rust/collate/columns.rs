//! Records laid out the way Arrow holds them in memory, column by column, so
//! that the binding hands them to pyarrow as buffers instead of a text format
//! that would be parsed a second time. Each column is built one value at a
//! time, in record order.
//!
//! The layouts (Arrow's columnar format): a validity bitmap, present only
//! when the column has a null; `i64`/`f64` values; booleans as bits, least
//! significant first; strings as `i32` offsets into one data buffer; lists of
//! strings as `i32` offsets into a string column.

use crate::error::{Error, Result};

/// The Arrow type of a known field, named as log-type specs name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Int,
    Float,
    Str,
    Bool,
    StrList,
}

impl FieldKind {
    pub const ALL: [Self; 5] = [Self::Int, Self::Float, Self::Str, Self::Bool, Self::StrList];

    pub fn name(self) -> &'static str {
        match self {
            Self::Int => "int",
            Self::Float => "float",
            Self::Str => "str",
            Self::Bool => "bool",
            Self::StrList => "str_list",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// Bits, least significant first within each byte, as Arrow packs them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Bitmap {
    bytes: Vec<u8>,
    len: usize,
}

impl Bitmap {
    fn push(&mut self, bit: bool) {
        if self.len % 8 == 0 {
            self.bytes.push(0);
        }
        if bit {
            self.bytes[self.len / 8] |= 1 << (self.len % 8);
        }
        self.len += 1;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Which values are present. The bitmap is made at the first null, so a
/// column without nulls has none, as Arrow allows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Validity {
    bitmap: Option<Bitmap>,
    len: usize,
    nulls: usize,
}

impl Validity {
    fn push(&mut self, valid: bool) {
        if !valid && self.bitmap.is_none() {
            let mut all_valid = Bitmap::default();
            for _ in 0..self.len {
                all_valid.push(true);
            }
            self.bitmap = Some(all_valid);
        }
        if let Some(bitmap) = &mut self.bitmap {
            bitmap.push(valid);
        }
        self.nulls += usize::from(!valid);
        self.len += 1;
    }

    pub fn bitmap(&self) -> Option<&Bitmap> {
        self.bitmap.as_ref()
    }

    pub fn null_count(&self) -> usize {
        self.nulls
    }

    pub fn into_bitmap(self) -> Option<Bitmap> {
        self.bitmap
    }
}

/// Variable-length strings: `offsets[i]..offsets[i + 1]` of `data` is the
/// i-th. `i32` offsets are Arrow's `string` type, so a column holds at most
/// 2 GiB of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strings {
    offsets: Vec<i32>,
    data: Vec<u8>,
}

impl Default for Strings {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            data: Vec::new(),
        }
    }
}

impl Strings {
    fn push(&mut self, text: &str) -> Result<()> {
        self.data.extend_from_slice(text.as_bytes());
        let end = i32::try_from(self.data.len()).map_err(|_| too_long())?;
        self.offsets.push(end);
        Ok(())
    }

    fn push_empty(&mut self) {
        let end = *self.offsets.last().expect("offsets start with 0");
        self.offsets.push(end);
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn offsets(&self) -> &[i32] {
        &self.offsets
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn into_parts(self) -> (Vec<i32>, Vec<u8>) {
        (self.offsets, self.data)
    }
}

fn too_long() -> Error {
    Error::MalformedUpload("a column of the upload holds more than 2 GiB of text".into())
}

#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Bitmap),
    Str(Strings),
    /// `offsets[i]..offsets[i + 1]` of `items` is the i-th list.
    StrList {
        offsets: Vec<i32>,
        items: Strings,
    },
}

/// One value to append; `Null` for a missing one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'a str),
    StrList(&'a [&'a str]),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub kind: FieldKind,
    pub values: Values,
    pub validity: Validity,
}

impl Column {
    pub fn new(name: impl Into<String>, kind: FieldKind) -> Self {
        let values = match kind {
            FieldKind::Int => Values::Int(Vec::new()),
            FieldKind::Float => Values::Float(Vec::new()),
            FieldKind::Bool => Values::Bool(Bitmap::default()),
            FieldKind::Str => Values::Str(Strings::default()),
            FieldKind::StrList => Values::StrList {
                offsets: vec![0],
                items: Strings::default(),
            },
        };
        Self {
            name: name.into(),
            kind,
            values,
            validity: Validity::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.validity.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `value`, which the caller has checked has this column's kind
    /// (or is `Null`).
    pub fn push(&mut self, value: Value<'_>) -> Result<()> {
        let valid = match (&mut self.values, value) {
            (Values::Int(values), Value::Int(v)) => {
                values.push(v);
                true
            }
            (Values::Float(values), Value::Float(v)) => {
                values.push(v);
                true
            }
            (Values::Bool(bits), Value::Bool(v)) => {
                bits.push(v);
                true
            }
            (Values::Str(strings), Value::Str(v)) => {
                strings.push(v)?;
                true
            }
            (Values::StrList { offsets, items }, Value::StrList(list)) => {
                for item in list {
                    items.push(item)?;
                }
                offsets.push(i32::try_from(items.len()).map_err(|_| too_long())?);
                true
            }
            (values, value) => {
                debug_assert_eq!(
                    value,
                    Value::Null,
                    "a value of another kind than the column's"
                );
                push_null(values);
                false
            }
        };
        self.validity.push(valid);
        Ok(())
    }
}

/// A slot for a missing value, so that every buffer keeps one entry per row.
fn push_null(values: &mut Values) {
    match values {
        Values::Int(values) => values.push(0),
        Values::Float(values) => values.push(0.0),
        Values::Bool(bits) => bits.push(false),
        Values::Str(strings) => strings.push_empty(),
        Values::StrList { offsets, .. } => {
            let end = *offsets.last().expect("offsets start with 0");
            offsets.push(end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_named_both_ways() {
        for kind in FieldKind::ALL {
            assert_eq!(FieldKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(FieldKind::parse("integer"), None);
    }

    #[test]
    fn bits_are_packed_least_significant_first() {
        let mut column = Column::new("b", FieldKind::Bool);
        for v in [true, false, true, true, false, false, false, false, true] {
            column.push(Value::Bool(v)).unwrap();
        }
        let Values::Bool(bits) = &column.values else {
            panic!("a bool column")
        };
        assert_eq!(bits.as_bytes(), [0b0000_1101, 0b1]);
        assert!(column.validity.bitmap().is_none());
    }

    #[test]
    fn the_first_null_makes_the_bitmap_with_earlier_rows_valid() {
        let mut column = Column::new("s", FieldKind::Str);
        column.push(Value::Str("ab")).unwrap();
        column.push(Value::Str("")).unwrap();
        column.push(Value::Null).unwrap();
        column.push(Value::Str("c")).unwrap();
        assert_eq!(column.len(), 4);
        assert_eq!(column.validity.null_count(), 1);
        assert_eq!(column.validity.bitmap().unwrap().as_bytes(), [0b1011]);
        let Values::Str(strings) = &column.values else {
            panic!("a string column")
        };
        assert_eq!(strings.offsets(), [0, 2, 2, 2, 3]);
        assert_eq!(strings.data(), b"abc");
    }

    #[test]
    fn lists_index_into_their_items() {
        let mut column = Column::new("l", FieldKind::StrList);
        column.push(Value::StrList(&["a", "bc"])).unwrap();
        column.push(Value::Null).unwrap();
        column.push(Value::StrList(&[])).unwrap();
        column.push(Value::StrList(&["d"])).unwrap();
        let Values::StrList { offsets, items } = &column.values else {
            panic!("a list column")
        };
        assert_eq!(offsets, &[0, 2, 2, 2, 3]);
        assert_eq!(items.offsets(), [0, 1, 3, 4]);
        assert_eq!(column.validity.null_count(), 1);
    }
}
