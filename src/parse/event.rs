//! Reading events: properties, filters and correlation, consumption strategies, subscription
//! iterators and extensions.

use serde_json::Value;

use super::reader::Parser;
use crate::document::{
    ConsumptionStrategy, Correlation, EventFilter, EventProperties, Extension, ExtensionTarget,
    SubscriptionIterator, Until, ValueTemplate,
};
use crate::pointer;

impl Parser {
    pub(crate) fn event_properties(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<EventProperties> {
        let map = self.object(value, pointer)?;
        let mut properties = EventProperties {
            pointer: pointer.to_string(),
            ..EventProperties::default()
        };
        for (key, item) in map {
            let item_pointer = pointer::join(pointer, key);
            let slot = match key.as_str() {
                "id" => &mut properties.id,
                "source" => &mut properties.source,
                "type" => &mut properties.type_,
                "time" => &mut properties.time,
                "subject" => &mut properties.subject,
                "datacontenttype" => &mut properties.datacontenttype,
                "dataschema" => &mut properties.dataschema,
                "data" => {
                    properties.data = Some(ValueTemplate::new(item.clone(), item_pointer));
                    continue;
                }
                _ => {
                    properties
                        .extensions
                        .push((key.clone(), ValueTemplate::new(item.clone(), item_pointer)));
                    continue;
                }
            };
            *slot = self.string_or_expr(item, &item_pointer);
        }
        Some(properties)
    }

    pub(crate) fn event_filter(&mut self, value: &Value, pointer: &str) -> Option<EventFilter> {
        let map = self.object(value, pointer)?;
        let with = self.opt(map, pointer, "with", Parser::event_properties);
        let mut correlate = Vec::new();
        let correlate_pointer = pointer::join(pointer, "correlate");
        if let Some(keys) = self.opt(map, pointer, "correlate", |p, v, ptr| p.object(v, ptr)) {
            for (key, item) in keys {
                let item_pointer = pointer::join(&correlate_pointer, key);
                let Some(entry) = self.object(item, &item_pointer) else {
                    continue;
                };
                let from = self.req(entry, &item_pointer, "from", Parser::expression);
                let expect = self.opt(entry, &item_pointer, "expect", Parser::expression);
                if let Some(from) = from {
                    correlate.push(Correlation {
                        key: key.clone(),
                        from,
                        expect,
                        pointer: item_pointer,
                    });
                }
            }
        }
        Some(EventFilter {
            with,
            correlate,
            pointer: pointer.to_string(),
        })
    }

    fn event_filters(&mut self, value: &Value, pointer: &str) -> Option<Vec<EventFilter>> {
        let items = self.array(value, pointer)?;
        let mut filters = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            filters.extend(self.event_filter(item, &pointer::join_index(pointer, index)));
        }
        Some(filters)
    }

    pub(crate) fn consumption_strategy(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<ConsumptionStrategy> {
        let map = self.object(value, pointer)?;
        let owned = pointer.to_string();
        let found: Vec<&str> = ["all", "any", "one"]
            .into_iter()
            .filter(|k| map.contains_key(*k))
            .collect();
        match found.as_slice() {
            ["all"] => {
                let filters = self.opt(map, pointer, "all", Parser::event_filters)?;
                Some(ConsumptionStrategy::All {
                    filters,
                    pointer: owned,
                })
            }
            ["any"] => {
                let filters = self.opt(map, pointer, "any", Parser::event_filters)?;
                let until = self.opt(map, pointer, "until", Parser::until).map(Box::new);
                Some(ConsumptionStrategy::Any {
                    filters,
                    until,
                    pointer: owned,
                })
            }
            ["one"] => {
                let filter = self.opt(map, pointer, "one", Parser::event_filter)?;
                Some(ConsumptionStrategy::One {
                    filter,
                    pointer: owned,
                })
            }
            _ => {
                self.unexpected(
                    pointer,
                    "an event consumption strategy needs exactly one of `all`, `any`, `one`",
                );
                None
            }
        }
    }

    fn until(&mut self, value: &Value, pointer: &str) -> Option<Until> {
        match value {
            Value::String(_) => self.expression(value, pointer).map(Until::Expression),
            _ => self.consumption_strategy(value, pointer).map(Until::Events),
        }
    }

    pub(crate) fn subscription_iterator(
        &mut self,
        value: &Value,
        pointer: &str,
    ) -> Option<SubscriptionIterator> {
        let map = self.object(value, pointer)?;
        Some(SubscriptionIterator {
            item: self
                .opt(map, pointer, "item", Parser::string)
                .unwrap_or_else(|| "item".to_string()),
            at: self
                .opt(map, pointer, "at", Parser::string)
                .unwrap_or_else(|| "index".to_string()),
            do_: self.opt(map, pointer, "do", Parser::task_list),
            output: self.opt(map, pointer, "output", Parser::output),
            export: self.opt(map, pointer, "export", Parser::export),
            pointer: pointer.to_string(),
        })
    }

    /// One `use.extensions` item: `- name: { extend, when?, before?, after? }`.
    pub(crate) fn extension(&mut self, value: &Value, pointer: &str) -> Option<Extension> {
        let (name, body) = self.single_entry(value, pointer)?;
        let pointer = pointer::join(pointer, name);
        let map = self.object(body, &pointer)?;
        let extend = self.req(map, &pointer, "extend", |p, v, ptr| {
            let text = p.string(v, ptr)?;
            let target = ExtensionTarget::from_name(&text);
            if target.is_none() {
                p.unexpected(ptr, format!("unknown extension target `{text}`"));
            }
            target
        });
        Some(Extension {
            name: name.clone(),
            extend: extend?,
            when: self.opt(map, &pointer, "when", Parser::expression),
            before: self.opt(map, &pointer, "before", Parser::task_list),
            after: self.opt(map, &pointer, "after", Parser::task_list),
            pointer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_properties_with_extensions_and_expressions() {
        let mut parser = Parser::default();
        let props = parser
            .event_properties(
                &json!({"type": "t", "source": "${ .s }", "data": {"a": "${ .a }"}, "ext": 1}),
                "/e",
            )
            .expect("properties");
        assert_eq!(props.type_.as_ref().and_then(|t| t.as_literal()), Some("t"));
        assert!(
            props
                .source
                .as_ref()
                .and_then(|s| s.as_expression())
                .is_some()
        );
        assert_eq!(props.data.map(|d| d.pointer), Some("/e/data".into()));
        assert_eq!(props.extensions.len(), 1);
        assert!(parser.diagnostics.is_empty());
    }

    #[test]
    fn reads_nested_until_strategies_and_correlation() {
        let mut parser = Parser::default();
        let value = json!({
            "any": [{"with": {"type": "a"}, "correlate": {"patient": {"from": ".id", "expect": "${ $context.id }"}}}],
            "until": {"one": {"with": {"type": "b"}}}
        });
        let strategy = parser.consumption_strategy(&value, "/l").expect("strategy");
        let ConsumptionStrategy::Any {
            filters,
            until: Some(until),
            ..
        } = strategy
        else {
            panic!("expected any with until");
        };
        assert_eq!(filters[0].correlate[0].key, "patient");
        assert_eq!(
            filters[0].correlate[0].from.pointer,
            "/l/any/0/correlate/patient/from"
        );
        assert!(
            matches!(*until, Until::Events(ConsumptionStrategy::One { ref pointer, .. }) if pointer == "/l/until")
        );
        let until_expr =
            parser.consumption_strategy(&json!({"any": [], "until": "length > 2"}), "/m");
        assert!(
            matches!(until_expr, Some(ConsumptionStrategy::Any { until: Some(u), .. }) if matches!(*u, Until::Expression(_)))
        );
        assert!(
            parser
                .consumption_strategy(&json!({"all": [], "one": {}}), "/n")
                .is_none()
        );
        assert_eq!(parser.diagnostics.len(), 1);
    }
}
