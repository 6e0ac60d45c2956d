//! Strings of a JSON text located without copying: a range of the text, or
//! of an arena for the few strings whose escapes had to be decoded. Shared
//! by the typed metadata index (`meta`) and the safetensors header scan.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

/// A string of a JSON text: a range of the text, or of an arena (for
/// strings whose escapes had to be decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    Header(u32, u32),
    Arena(u32, u32),
}

impl Text {
    /// The string, given the text and the arena it was read with.
    pub fn resolve<'a>(self, text: &'a str, arena: &'a str) -> &'a str {
        match self {
            Text::Header(s, l) => &text[s as usize..(s + l) as usize],
            Text::Arena(s, l) => &arena[s as usize..(s + l) as usize],
        }
    }
}

/// A string (a key, or a value that must be a string): a slice of the
/// text that starts at address `base`, or decoded into the arena.
pub(crate) struct KeySeed<'a> {
    pub base: usize,
    pub arena: &'a mut String,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Text;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Text, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Text;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Text, E> {
        let start = v.as_ptr() as usize - self.base;
        Ok(Text::Header(start as u32, v.len() as u32))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Text, E> {
        let start = self.arena.len();
        self.arena.push_str(v);
        Ok(Text::Arena(start as u32, v.len() as u32))
    }
}
