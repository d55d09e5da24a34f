//! Compact JSON for large results (a scan's findings run to megabytes): the same bytes as
//! `serde_json::to_writer`, written faster.
//!
//! Why not serde_json itself: its string escaper looks at one byte at a time, and a scan
//! result is mostly strings (summaries, purls, ranges), so escaping was the largest single
//! cost of answering a scan. Here strings are scanned eight bytes at a time and copied in
//! runs. Output equality with serde_json is the contract, checked by property tests over
//! arbitrary values and by the result snapshots of the crates that use it.

use std::fmt::Display;

use serde::ser::{self, Serialize};

/// Why a value cannot be written as JSON.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A map key that JSON cannot hold (only strings, numbers, booleans and chars can be keys).
    #[error("a JSON object key must be a string, a number, a boolean or a char, not {0}")]
    Key(&'static str),
    /// A non-finite float as a map key.
    #[error("a JSON object key cannot be a non-finite number")]
    NonFiniteKey,
    /// An error raised by a `Serialize` implementation.
    #[error("{0}")]
    Custom(String),
}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Custom(msg.to_string())
    }
}

/// Serialises `value` as compact JSON, appended to `out`.
pub fn to_writer<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    // nested calls (a value writing its own JSON once, to reuse) restore the outer state
    let outer = WRITING.with(|w| w.replace(true));
    let r = value.serialize(&mut Writer { out, raw: false });
    WRITING.with(|w| w.set(outer));
    r
}

thread_local! {
    /// Whether this thread is inside [`to_writer`]: values may then hand over JSON they
    /// wrote before ([`write_raw`]).
    static WRITING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The newtype-struct name by which [`write_raw`] reaches this crate's writer.
const RAW_TOKEN: &str = "$stella_json::raw";

/// Whether the serializer at work on this thread is this crate's, so [`write_raw`] may be
/// used: for values that keep the JSON they once wrote (through [`to_writer`]) and are
/// written many times.
pub fn writing() -> bool {
    WRITING.with(std::cell::Cell::get)
}

/// Writes `json` — compact JSON made by [`to_writer`] — in place of a value. Only when
/// [`writing`] is true: other serializers would write it as a string. (Handed over borrowed,
/// as a newtype struct's string: the memo's JSON is shared between threads, and handing over
/// a counted reference per finding made its count bounce between the cores.)
pub fn write_raw<S: ser::Serializer>(s: S, json: &str) -> Result<S::Ok, S::Error> {
    s.serialize_newtype_struct(RAW_TOKEN, json)
}

/// Serialises `value` as compact JSON.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(128);
    to_writer(&mut out, value)?;
    Ok(out)
}

/// What each byte becomes inside a JSON string: 0 = itself, `u` = `\u00XX`, else `\` + it.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `w` needs escaping: below 0x20, `"` or `\`. Each test is the exact
/// "some byte is zero / below n" bit trick; bytes of 0x80 and above never trigger it.
#[inline(always)]
fn needs_escape(w: u64) -> bool {
    let below_space = w.wrapping_sub(LO * 0x20) & !w & HI;
    let q = w ^ (LO * b'"' as u64);
    let quote = q.wrapping_sub(LO) & !q & HI;
    let b = w ^ (LO * b'\\' as u64);
    let backslash = b.wrapping_sub(LO) & !b & HI;
    (below_space | quote | backslash) != 0
}

/// Appends `s` as a JSON string (quoted, escaped as serde_json escapes).
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if i + 8 <= b.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            if !needs_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let c = b[i];
        let e = ESCAPE[c as usize];
        if e != 0 {
            out.extend_from_slice(&b[start..i]);
            if e == b'u' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 0xf) as usize],
                ]);
            } else {
                out.extend_from_slice(&[b'\\', e]);
            }
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// The integer methods of a serializer, each handing its value to the serializer's `int`.
macro_rules! ints {
    () => {
        ints!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
              serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
              serialize_u64: u64, serialize_u128: u128);
    };
    ($($f:ident: $t:ty),*) => {
        $(fn $f(self, v: $t) -> Result<(), Error> {
            self.int(v)
        })*
    };
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// The next string is JSON to write as it is ([`write_raw`]).
    raw: bool,
}

impl Writer<'_> {
    fn int(&mut self, v: impl itoa::Integer) -> Result<(), Error> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }
}

/// An open array or object: whether a comma is due before the next element.
pub struct Compound<'w, 'a> {
    w: &'w mut Writer<'a>,
    first: bool,
    /// Closing bytes: `]`, `}`, or `]}` / `}}` for enum variants.
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.push(b',');
        }
    }
    fn end(self) {
        self.w.out.extend_from_slice(self.close);
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    ints!();
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if self.raw {
            self.raw = false;
            self.out.extend_from_slice(v.as_bytes());
        } else {
            write_str(self.out, v);
        }
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq as _;
        let mut s = self.serialize_seq(Some(v.len()))?;
        for b in v {
            s.serialize_element(b)?;
        }
        ser::SerializeSeq::end(s)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        if name == RAW_TOKEN {
            self.raw = true;
            let r = value.serialize(&mut *self);
            // a value that wrote no string leaves nothing raw behind
            self.raw = false;
            return r;
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'[');
        if len == Some(0) {
            // serde_json closes an empty sequence at once; `end` must then add nothing
            self.out.push(b']');
            return Ok(Compound {
                w: self,
                first: true,
                close: b"",
            });
        }
        Ok(Compound {
            w: self,
            first: true,
            close: b"]",
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":[");
        if len == 0 {
            self.out.extend_from_slice(b"]}");
            return Ok(Compound {
                w: self,
                first: true,
                close: b"",
            });
        }
        Ok(Compound {
            w: self,
            first: true,
            close: b"]}",
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'{');
        if len == Some(0) {
            self.out.push(b'}');
            return Ok(Compound {
                w: self,
                first: true,
                close: b"",
            });
        }
        Ok(Compound {
            w: self,
            first: true,
            close: b"}",
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":{");
        if len == 0 {
            self.out.extend_from_slice(b"}}");
            return Ok(Compound {
                w: self,
                first: true,
                close: b"",
            });
        }
        Ok(Compound {
            w: self,
            first: true,
            close: b"}}",
        })
    }
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.serialize_str(&value.to_string())
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(KeyWriter {
            out: &mut *self.w.out,
        })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.comma();
        write_str(self.w.out, key);
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self);
        Ok(())
    }
}

/// Object keys: strings as they are; numbers, booleans and chars quoted (as serde_json does).
struct KeyWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl KeyWriter<'_> {
    /// Numbers as keys are quoted.
    fn int(self, v: impl itoa::Integer) -> Result<(), Error> {
        self.quoted(itoa::Buffer::new().format(v))
    }

    fn quoted(self, s: &str) -> Result<(), Error> {
        self.out.push(b'"');
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(if v { "true" } else { "false" })
    }
    ints!();
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error::NonFiniteKey);
        }
        self.quoted(zmij::Buffer::new().format_finite(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(Error::NonFiniteKey);
        }
        self.quoted(zmij::Buffer::new().format_finite(v))
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(Error::Key("bytes"))
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(Error::Key("null"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(Error::Key("null"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(Error::Key("a unit struct"))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        write_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(Error::Key("an enum variant with data"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error::Key("an array"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Error::Key("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error::Key("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error::Key("an enum variant with data"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error::Key("an object"))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(Error::Key("a struct"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error::Key("an enum variant with data"))
    }
}

#[cfg(test)]
mod tests;
