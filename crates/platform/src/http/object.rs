//! A request body that must be a JSON object. serde's derived `Deserialize` also reads a struct
//! from an array of its fields in order (`[1, 2]` as `{"a": 1, "b": 2}`), which no client means:
//! reading through [`Object`] refuses anything but an object, as a body of the wrong shape.

use std::{fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{MapAccess, Visitor, value::MapAccessDeserializer},
};

/// `T` read from a JSON object only: `Json<Object<EventBody>>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
            type Value = Object<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }

        deserializer.deserialize_map(ObjectOnly(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Pair {
        a: i64,
        #[serde(default)]
        b: Option<i64>,
    }

    #[test]
    fn reads_objects_only() {
        let read = |text: &str| serde_json::from_str::<Object<Pair>>(text).map(|Object(pair)| pair);
        assert_eq!(read(r#"{"a": 1, "c": 3}"#).unwrap(), Pair { a: 1, b: None });
        assert!(serde_json::from_str::<Pair>("[1, 2]").is_ok(), "what a derived reader takes");
        for text in ["[1, 2]", "1", "\"a\"", "null", "true"] {
            let error = read(text).unwrap_err();
            assert!(error.to_string().contains("expected a JSON object"), "{text}: {error}");
        }
        assert!(read(r#"{"b": 1}"#).unwrap_err().to_string().contains("missing field `a`"));
    }
}
