//! jq 1.7 builtins that jaq lacks or defines differently, written in jq itself. Loaded after jaq's
//! own definitions, so a definition here replaces jaq's one of the same name and arity (for callers
//! defined later: jaq's own definitions keep calling what they saw, hence `todate` below).

/// Our jq prelude. Every definition is tested below against the jq manual's documented results.
pub(crate) const PRELUDE: &str = r#"
# SQL-style helpers.
def INDEX(stream; idx_expr):
  reduce stream as $row ({}; . + {($row | idx_expr | tostring): $row});
def INDEX(idx_expr): INDEX(.[]; idx_expr);
def IN(s): . as $x | any(s; . == $x);
def IN(src; s): any(src == s; .);
def JOIN($idx; idx_expr): [.[] | [., $idx[idx_expr]]];
def JOIN($idx; stream; idx_expr): stream | [., $idx[idx_expr]];
def JOIN($idx; stream; idx_expr; join_expr): stream | [., $idx[idx_expr]] | join_expr;

# Paths and streaming: a stream event is [path, leaf] or, closing a container, [path].
def leaf_paths: paths(scalars);
def tostream:
  def events($p):
    if (type == "array" or type == "object") and length > 0 then
      [path(.[]) | .[0]] as $keys
      | (. as $v | $keys[] as $k | $v[$k] | events($p + [$k])), [$p + [$keys[-1]]]
    else [$p, .] end;
  events([]);
def fromstream(events):
  foreach events as $e ({done: false, value: null};
    (if .done then {done: false, value: null} end)
    | if ($e | length) == 2
      then .value |= setpath($e[0]; $e[1]) | .done = (($e[0] | length) == 0)
      else .done = (($e[0] | length) == 1) end;
    if .done then .value else empty end);
def truncate_stream(stream):
  . as $depth | null | stream | select((.[0] | length) > $depth) | .[0] |= .[$depth:];

# Deletion: every path is resolved against the input, then removed from the last to the first, so
# `del(.[1, 2])` removes two elements (jaq deletes one path after the other). Paths through
# missing values are ignored instead of creating them.
def delpaths($paths):
  reduce ($paths | unique | reverse)[] as $p (.;
    if $p == [] then null
    elif getpath($p[:-1]) | (type == "object" or type == "array") then getpath($p) |= empty
    else . end);
def del(f): delpaths([path(f)]);

# Entries: jq accepts several spellings of the key and value fields.
def from_entries:
  reduce .[] as $e ({};
    . + {
      ([$e | .key, .k, .name, .Name, .K, .Key | select(. != null)][0]
        | if type == "string" then . else tojson end):
      ($e | if has("value") then .value else .v end)
    });

# Bottom-up, as in jq: children are rewritten before their parent (jaq's `walk` goes top-down).
def walk(f):
  def down: (if type == "array" then map(down) elif type == "object" then map_values(down) else . end) | f;
  down;

# Picks by path: missing parents grow as arrays or objects, as `setpath` does.
def pick(pathexps):
  . as $in | reduce path(pathexps) as $p (null; setpath($p; $in | getpath($p)));

# Strings. jq's join writes null as nothing and numbers/booleans as JSON; jaq writes "null".
def join($sep):
  reduce .[] as $x (null;
    (if . == null then "" else . + $sep end)
    + ($x | if . == null then "" elif type == "string" then .
            elif type == "number" or type == "boolean" then tojson
            else error("cannot join with \(type)") end))
  // "";
# jq leaves the input alone when either side is not a string; jaq raises an error.
def ltrimstr($p):
  if type == "string" and ($p | type) == "string" and startswith($p) then .[($p | length):] else . end;
def rtrimstr($p):
  if type == "string" and ($p | type) == "string" and endswith($p) and ($p | length) > 0
  then .[:length - ($p | length)] else . end;
def trimstr($s): ltrimstr($s) | rtrimstr($s);
def ascii:
  if type == "number" and . >= 0 and . <= 127 then [.] | implode
  else error("ascii: expected a number between 0 and 127") end;
def toarray: if type == "array" then . else [.] end;

# Dates. jq writes whole seconds (jaq would write `41.9Z`); `date`, `dateadd` and `datesub` are
# kept by jq for compatibility (the unit argument is ignored).
def todateiso8601: strftime("%Y-%m-%dT%H:%M:%SZ");
def todate: todateiso8601;
def date: todate;
def dateadd(u; n): . + n;
def datesub(u; n): . - n;

# Math.
def lgamma_r: [lgamma, (if tgamma < 0 then -1 else 1 end)];

# Validity and capabilities.
def isvalid(f): try (f | true) catch false;
def have_decnum: false;
def have_literal_numbers: true;

# `format("csv")` is `@csv`, and so on.
def format($f):
  if $f == "text" then @text elif $f == "json" then @json elif $f == "html" then @html
  elif $f == "uri" then @uri elif $f == "csv" then @csv elif $f == "tsv" then @tsv
  elif $f == "sh" then @sh elif $f == "base64" then @base64 elif $f == "base64d" then @base64d
  elif $f == "base32" then @base32 elif $f == "base32d" then @base32d
  else error("\($f | tojson) is not a valid format") end;

# There is no input stream, program file or module system inside a workflow expression.
def input: error("No more inputs");
def inputs: empty;
def input_filename: null;
def input_line_number: 0;
def get_search_list: [];
def get_jq_origin: null;
def get_prog_origin: null;
def modulemeta: error("modulemeta: modules cannot be loaded in workflow expressions");
"#;

#[cfg(test)]
mod tests {
    use crate::expr::{Expr, from_json, to_json};
    use serde_json::{Value, json};

    /// Runs `code` on `input` and returns all outputs as an array (so single outputs are `[x]`).
    fn all(code: &str, input: Value) -> Value {
        let expr =
            Expr::compile(&format!("[{code}]"), &[]).unwrap_or_else(|e| panic!("{code}: {e:?}"));
        match expr.eval(from_json(&input), &[]) {
            Ok(v) => to_json(&v),
            Err(e) => panic!("{code}: {}", e.message),
        }
    }

    #[test]
    fn index_in_join() {
        // jq manual: INDEX(.id) builds an object keyed by the stringified index.
        let rows = json!([{"id": 1, "n": "a"}, {"id": 2, "n": "b"}]);
        assert_eq!(
            all("INDEX(.id)", rows.clone()),
            json!([{"1": {"id": 1, "n": "a"}, "2": {"id": 2, "n": "b"}}])
        );
        assert_eq!(
            all("INDEX(.[]; .n)", rows),
            json!([{"a": {"id": 1, "n": "a"}, "b": {"id": 2, "n": "b"}}])
        );
        // jq manual: `.[] | IN(2, 3)` on [1,2] gives false, true.
        assert_eq!(all(".[] | IN(2, 3)", json!([1, 2])), json!([false, true]));
        // jq manual: IN(source; s) is true if any output of source is in s.
        assert_eq!(all("IN(range(5); 3, 10)", json!(null)), json!([true]));
        assert_eq!(all("IN(range(3); 7)", json!(null)), json!([false]));
        let idx = json!({"a": "x", "b": "y"});
        let out = all(
            &format!("JOIN({idx}; .[]; .k; {{row: .[0], hit: .[1]}})"),
            json!([{"k": "a"}]),
        );
        assert_eq!(out, json!([{"row": {"k": "a"}, "hit": "x"}]));
        let out = all(&format!("JOIN({idx}; .k)"), json!([{"k": "a"}, {"k": "c"}]));
        assert_eq!(out, json!([[[{"k": "a"}, "x"], [{"k": "c"}, null]]]));
    }

    #[test]
    fn leaf_paths_lists_scalars_only() {
        let out = all("leaf_paths", json!({"a": [1, {"b": 2}], "c": {}}));
        assert_eq!(out, json!([["a", 0], ["a", 1, "b"]]));
    }

    #[test]
    fn tostream_matches_the_manual() {
        // jq manual: [1|truncate_stream([[0],1],[[1,0],2],[[1,0]],[[1]])] => [[[0],2],[[0]]]
        let out = all(
            "1 | truncate_stream([[0],1],[[1,0],2],[[1,0]],[[1]])",
            json!(null),
        );
        assert_eq!(out, json!([[[0], 2], [[0]]]));
        // jq manual: . as $dot | [$dot | tostream] for {"a":[1,{"b":2}]}
        let out = all("tostream", json!({"a": [1, {"b": 2}]}));
        assert_eq!(
            out,
            json!([
                [["a", 0], 1],
                [["a", 1, "b"], 2],
                [["a", 1, "b"]],
                [["a", 1]],
                [["a"]]
            ])
        );
        assert_eq!(all("tostream", json!(3)), json!([[[], 3]]));
        assert_eq!(all("tostream", json!([])), json!([[[], []]]));
    }

    #[test]
    fn fromstream_inverts_tostream() {
        // jq manual: fromstream(1|truncate_stream([[0],1],[[1,0],2],[[1,0]],[[1]])) => [2]
        let out = all(
            "fromstream(1 | truncate_stream([[0],1],[[1,0],2],[[1,0]],[[1]]))",
            json!(null),
        );
        assert_eq!(out, json!([[2]]));
        let doc = json!({"a": [1, {"b": 2, "c": []}], "d": "x", "e": {}});
        assert_eq!(all("fromstream(tostream)", doc.clone()), json!([doc]));
        assert_eq!(
            all("fromstream((1, [2]) | tostream)", json!(null)),
            json!([1, [2]])
        );
    }

    #[test]
    fn from_entries_accepts_jq_spellings() {
        let out = all(
            "from_entries",
            json!([{"key": "a", "value": 1}, {"k": "b", "v": 2}, {"name": "c", "value": 3}]),
        );
        assert_eq!(out, json!([{"a": 1, "b": 2, "c": 3}]));
        // Non-string keys are stringified, as jq 1.7 does.
        assert_eq!(
            all(
                "from_entries",
                json!([{"key": 1, "value": true}, {"key": false}])
            ),
            json!([{"1": true, "false": null}])
        );
        assert_eq!(
            all("with_entries(.value += 1)", json!({"a": 1, "b": 2})),
            json!([{"a": 2, "b": 3}])
        );
    }

    #[test]
    fn del_and_delpaths_follow_jq() {
        // jq manual: del(.foo), del(.[1, 2]), delpaths([["a","b"]]).
        assert_eq!(
            all("del(.foo)", json!({"foo": 42, "bar": 9001, "baz": 42})),
            json!([{"bar": 9001, "baz": 42}])
        );
        assert_eq!(
            all("del(.[1, 2])", json!(["foo", "bar", "baz"])),
            json!([["foo"]])
        );
        assert_eq!(
            all(
                "delpaths([[\"a\",\"b\"]])",
                json!({"a": {"b": 1}, "x": {"y": 2}})
            ),
            json!([{"a": {}, "x": {"y": 2}}])
        );
        assert_eq!(all("del(.a.b)", json!({})), json!([{}]));
        assert_eq!(all("del(.[0], .[-1])", json!([1, 2, 3])), json!([[2]]));
        assert_eq!(all("del(.)", json!([1])), json!([null]));
        assert_eq!(
            all("del(.[] | select(. > 1))", json!([1, 2, 3, 1])),
            json!([[1, 1]])
        );
    }

    #[test]
    fn walk_is_bottom_up() {
        // jq manual examples.
        let out = all(
            "walk(if type == \"array\" then sort else . end)",
            json!([[4, 1, 7], [8, 5, 2], [3, 6, 9]]),
        );
        assert_eq!(out, json!([[[1, 4, 7], [2, 5, 8], [3, 6, 9]]]));
        let code =
            "walk(if type == \"object\" then with_entries(.key |= sub(\"^_+\"; \"\")) else . end)";
        assert_eq!(
            all(code, json!([{"_a": {"__b": 2}}])),
            json!([[{"a": {"b": 2}}]])
        );
    }

    #[test]
    fn join_and_pick_follow_jq() {
        // jq manual examples.
        assert_eq!(
            all("join(\", \")", json!(["a", "b,c,d", "e"])),
            json!(["a, b,c,d, e"])
        );
        assert_eq!(
            all("join(\" \")", json!(["a", 1, 2.3, true, null, false])),
            json!(["a 1 2.3 true  false"])
        );
        assert_eq!(all("join(\"-\")", json!([])), json!([""]));
        assert!(
            Expr::compile("join(\",\")", &[])
                .map(|e| e.eval(from_json(&json!([[1]])), &[]).is_err())
                .unwrap_or(false)
        );
        assert_eq!(
            all("pick(.[2], .[0], .[0])", json!([1, 2, 3, 4])),
            json!([[1, null, 3]])
        );
        assert_eq!(
            all("pick(.a[1])", json!({"a": [1, 2], "b": 0})),
            json!([{"a": [null, 2]}])
        );
    }

    #[test]
    fn string_helpers() {
        // jq manual: [.[]|ltrimstr("foo")] on ["fo", "foo", "barfoo", "foobar", "afoo"]
        let words = json!(["fo", "foo", "barfoo", "foobar", "afoo"]);
        assert_eq!(
            all("[.[] | ltrimstr(\"foo\")]", words.clone()),
            json!([["fo", "", "barfoo", "bar", "afoo"]])
        );
        assert_eq!(
            all("[.[] | rtrimstr(\"foo\")]", words),
            json!([["fo", "", "bar", "foobar", "a"]])
        );
        assert_eq!(all("trimstr(\"ab\")", json!("abxab")), json!(["x"]));
        // Non-string operands leave the input alone, as in jq.
        assert_eq!(
            all("ltrimstr(1), rtrimstr(1)", json!("abc")),
            json!(["abc", "abc"])
        );
        assert_eq!(
            all("ltrimstr(\"a\"), rtrimstr(\"a\")", json!(1)),
            json!([1, 1])
        );
        assert_eq!(all("rtrimstr(\"\")", json!("ab")), json!(["ab"]));
        assert_eq!(
            all("[65, 97] | map(ascii) | add", json!(null)),
            json!(["Aa"])
        );
        // jq manual: splits("a+"; "g") on "ab,cd, ef"? We use the simpler documented pattern.
        assert_eq!(
            all("splits(\", *\"; null)", json!("ab,cd, ef")),
            json!(["ab", "cd", "ef"])
        );
        assert_eq!(all("splits(\", \")", json!("ab, cd")), json!(["ab", "cd"]));
        assert_eq!(all("toarray", json!(1)), json!([[1]]));
        assert_eq!(all("toarray", json!([1])), json!([[1]]));
    }

    #[test]
    fn getpath_paths_and_pick() {
        // jq manual examples.
        assert_eq!(all("getpath([\"a\",\"b\"])", json!(null)), json!([null]));
        assert_eq!(
            all(
                "[getpath([\"a\",\"b\"], [\"a\",\"c\"])]",
                json!({"a": {"b": 0, "c": 1}})
            ),
            json!([[0, 1]])
        );
        assert_eq!(
            all("[paths]", json!([1, [[], {"a": 2}]])),
            json!([[[0], [1], [1, 0], [1, 1], [1, 1, "a"]]])
        );
        assert_eq!(
            all("[paths(type == \"number\")]", json!([1, [[], {"a": 2}]])),
            json!([[[0], [1, 1, "a"]]])
        );
        assert_eq!(
            all(
                "pick(.a, .b.c, .x)",
                json!({"a": 1, "b": {"c": 2, "d": 3}, "e": 4})
            ),
            json!([{"a": 1, "b": {"c": 2}, "x": null}])
        );
        assert_eq!(
            all("[limit(3; .[])]", json!([0, 1, 2, 3, 4])),
            json!([[0, 1, 2]])
        );
    }

    #[test]
    fn dates_and_math_compat() {
        assert_eq!(
            all("1425599621 | date", json!(null)),
            json!(["2015-03-05T23:53:41Z"])
        );
        let out = all("1425599621.9 | todate, todateiso8601", json!(null));
        assert_eq!(out, json!(["2015-03-05T23:53:41Z", "2015-03-05T23:53:41Z"]));
        let out = all("\"2015-03-05T23:51:47Z\" | fromdate", json!(null));
        assert_eq!(out, json!([1425599507]));
        assert_eq!(
            all("10 | dateadd(\"seconds\"; 5)", json!(null)),
            json!([15])
        );
        assert_eq!(all("10 | datesub(\"seconds\"; 5)", json!(null)), json!([5]));
        let out = all("3 | lgamma_r", json!(null));
        let pair = out.get(0).cloned().unwrap_or_default();
        let lg = pair.get(0).and_then(Value::as_f64).unwrap_or(f64::NAN);
        assert!((lg - 2f64.ln()).abs() < 1e-12, "{out}");
        assert_eq!(pair.get(1), Some(&json!(1)));
    }

    /// Every builtin jq 1.7.1 lists in `builtins` (plus jq 1.8's `trimstr`, `toarray`, `have_*`),
    /// called with its arity, compiles.
    #[test]
    fn every_jq_builtin_compiles() {
        const JQ_BUILTINS: &[&str] = &[
            "IN/1",
            "IN/2",
            "INDEX/1",
            "INDEX/2",
            "JOIN/2",
            "JOIN/3",
            "JOIN/4",
            "abs/0",
            "acos/0",
            "acosh/0",
            "add/0",
            "all/0",
            "all/1",
            "all/2",
            "any/0",
            "any/1",
            "any/2",
            "arrays/0",
            "ascii/0",
            "ascii_downcase/0",
            "ascii_upcase/0",
            "asin/0",
            "asinh/0",
            "atan/0",
            "atan2/2",
            "atanh/0",
            "booleans/0",
            "bsearch/1",
            "builtins/0",
            "capture/1",
            "capture/2",
            "cbrt/0",
            "ceil/0",
            "combinations/0",
            "combinations/1",
            "contains/1",
            "copysign/2",
            "cos/0",
            "cosh/0",
            "debug/0",
            "debug/1",
            "del/1",
            "delpaths/1",
            "drem/2",
            "empty/0",
            "endswith/1",
            "env/0",
            "error/0",
            "error/1",
            "exp/0",
            "exp10/0",
            "exp2/0",
            "explode/0",
            "expm1/0",
            "fabs/0",
            "fdim/2",
            "finites/0",
            "first/0",
            "first/1",
            "flatten/0",
            "flatten/1",
            "floor/0",
            "fma/3",
            "fmax/2",
            "fmin/2",
            "fmod/2",
            "format/1",
            "frexp/0",
            "from_entries/0",
            "fromdate/0",
            "fromdateiso8601/0",
            "fromjson/0",
            "fromstream/1",
            "gamma/0",
            "get_jq_origin/0",
            "get_prog_origin/0",
            "get_search_list/0",
            "getpath/1",
            "gmtime/0",
            "group_by/1",
            "gsub/2",
            "gsub/3",
            "halt/0",
            "halt_error/0",
            "halt_error/1",
            "has/1",
            "hypot/2",
            "implode/0",
            "in/1",
            "index/1",
            "indices/1",
            "infinite/0",
            "input/0",
            "input_filename/0",
            "input_line_number/0",
            "inputs/0",
            "inside/1",
            "isempty/1",
            "isinfinite/0",
            "isnan/0",
            "isnormal/0",
            "isvalid/1",
            "iterables/0",
            "j0/0",
            "j1/0",
            "join/1",
            "keys/0",
            "keys_unsorted/0",
            "last/0",
            "last/1",
            "ldexp/2",
            "leaf_paths/0",
            "length/0",
            "lgamma/0",
            "lgamma_r/0",
            "limit/2",
            "localtime/0",
            "log/0",
            "log10/0",
            "log1p/0",
            "log2/0",
            "logb/0",
            "ltrimstr/1",
            "map/1",
            "map_values/1",
            "match/1",
            "match/2",
            "max/0",
            "max_by/1",
            "min/0",
            "min_by/1",
            "mktime/0",
            "modf/0",
            "modulemeta/0",
            "nan/0",
            "nearbyint/0",
            "nextafter/2",
            "nexttoward/2",
            "normals/0",
            "not/0",
            "now/0",
            "nth/1",
            "nth/2",
            "nulls/0",
            "numbers/0",
            "objects/0",
            "path/1",
            "paths/0",
            "paths/1",
            "pick/1",
            "pow/2",
            "pow10/0",
            "range/1",
            "range/2",
            "range/3",
            "recurse/0",
            "recurse/1",
            "recurse/2",
            "repeat/1",
            "reverse/0",
            "rindex/1",
            "rint/0",
            "round/0",
            "rtrimstr/1",
            "scalars/0",
            "scalb/2",
            "scalbln/2",
            "scan/1",
            "scan/2",
            "select/1",
            "setpath/2",
            "significand/0",
            "sin/0",
            "sinh/0",
            "sort/0",
            "sort_by/1",
            "split/1",
            "split/2",
            "splits/1",
            "splits/2",
            "sqrt/0",
            "startswith/1",
            "stderr/0",
            "strflocaltime/1",
            "strftime/1",
            "strings/0",
            "strptime/1",
            "sub/2",
            "sub/3",
            "tan/0",
            "tanh/0",
            "test/1",
            "test/2",
            "tgamma/0",
            "to_entries/0",
            "toarray/0",
            "todate/0",
            "todateiso8601/0",
            "tojson/0",
            "tonumber/0",
            "tostream/0",
            "tostring/0",
            "transpose/0",
            "trunc/0",
            "truncate_stream/1",
            "type/0",
            "unique/0",
            "unique_by/1",
            "until/2",
            "utf8bytelength/0",
            "values/0",
            "walk/1",
            "while/2",
            "with_entries/1",
            "y0/0",
            "y1/0",
            "trim/0",
            "ltrim/0",
            "rtrim/0",
            "trimstr/1",
            "have_literal_numbers/0",
            "have_decnum/0",
            "date/0",
            "dateadd/2",
            "datesub/2",
            "@text/0",
            "@json/0",
            "@html/0",
            "@uri/0",
            "@csv/0",
            "@tsv/0",
            "@sh/0",
            "@base64/0",
            "@base64d/0",
            "@base32/0",
            "@base32d/0",
            "add/1",
        ];
        let mut missing = Vec::new();
        for item in JQ_BUILTINS {
            let (name, arity) = item.split_once('/').unwrap_or((item, "0"));
            let arity: usize = arity.parse().unwrap_or(0);
            let code = if arity == 0 {
                name.to_owned()
            } else {
                format!("{name}({})", vec!["."; arity].join("; "))
            };
            if Expr::compile(&code, &[]).is_err() {
                missing.push(*item);
            }
            // The reachability scan must find everything a builtin needs.
            assert!(
                crate::expr::compile::compiles_pruned(&code),
                "{code} needs the full library"
            );
        }
        assert!(missing.is_empty(), "missing builtins: {missing:?}");
    }

    #[test]
    fn format_dispatches_to_the_named_format() {
        assert_eq!(
            all(
                "format(\"csv\"), format(\"base64\"), format(\"text\")",
                json!([1, "a"])
            ),
            json!(["1,\"a\"", "WzEsImEiXQ==", "[1,\"a\"]"])
        );
        assert!(
            Expr::compile("format(\"nope\")", &[])
                .map(|e| e.eval(from_json(&json!(1)), &[]).is_err())
                .unwrap_or(false)
        );
    }

    #[test]
    fn capabilities_and_inputs() {
        assert_eq!(
            all("isvalid(1 + 1), isvalid(1 + \"a\")", json!(null)),
            json!([true, false])
        );
        assert_eq!(
            all("have_decnum, have_literal_numbers", json!(null)),
            json!([false, true])
        );
        assert_eq!(all("inputs", json!(null)), json!([]));
        assert_eq!(
            all("try input catch .", json!(null)),
            json!(["No more inputs"])
        );
        assert_eq!(all("input_filename", json!(null)), json!([null]));
        assert_eq!(all("get_search_list", json!(null)), json!([[]]));
        assert_eq!(
            all(
                "input_line_number, get_jq_origin, get_prog_origin",
                json!(null)
            ),
            json!([0, null, null])
        );
    }
}
