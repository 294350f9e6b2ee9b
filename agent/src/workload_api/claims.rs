//! JSON claims as `google.protobuf.Struct` (the `claims` of `ValidateJWTSVIDResponse`).

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::Map;

/// A JSON value as a protobuf `Value` (numbers become doubles, as in protobuf's JSON mapping).
pub fn to_proto_value(value: &serde_json::Value) -> Value {
    let kind = match value {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(to_proto_value).collect(),
        }),
        serde_json::Value::Object(map) => Kind::StructValue(to_proto_struct(map)),
    };
    Value { kind: Some(kind) }
}

/// A JSON object as a protobuf `Struct`.
pub fn to_proto_struct(map: &Map<String, serde_json::Value>) -> Struct {
    Struct {
        fields: map
            .iter()
            .map(|(k, v)| (k.clone(), to_proto_value(v)))
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_every_json_kind_recursively() {
        let v = json!({"s": "x", "n": 3, "f": 1.5, "b": true, "z": null,
                       "a": ["y", {"k": [1]}], "o": {"p": false}});
        let s = to_proto_struct(v.as_object().unwrap());
        let get = |k: &str| s.fields[k].kind.clone().unwrap();
        assert_eq!(get("s"), Kind::StringValue("x".into()));
        assert_eq!(get("n"), Kind::NumberValue(3.0));
        assert_eq!(get("f"), Kind::NumberValue(1.5));
        assert_eq!(get("b"), Kind::BoolValue(true));
        assert_eq!(get("z"), Kind::NullValue(0));
        let Kind::ListValue(list) = get("a") else {
            panic!("a is a list")
        };
        assert_eq!(list.values.len(), 2);
        let Some(Kind::StructValue(inner)) = list.values[1].kind.clone() else {
            panic!("a[1] is a struct")
        };
        assert_eq!(
            inner.fields["k"].kind,
            Some(Kind::ListValue(ListValue {
                values: vec![Value {
                    kind: Some(Kind::NumberValue(1.0))
                }]
            }))
        );
        let Kind::StructValue(o) = get("o") else {
            panic!("o is a struct")
        };
        assert_eq!(o.fields["p"].kind, Some(Kind::BoolValue(false)));
    }
}
