use super::*;
use proptest::prelude::*;

/// A compact, readable rendering of the AST so the tables below stay short.
fn render(f: &Filter) -> String {
    match f {
        Filter::And(parts) => format!("(and {})", parts.iter().map(render).collect::<Vec<_>>().join(" ")),
        Filter::Or(parts) => format!("(or {})", parts.iter().map(render).collect::<Vec<_>>().join(" ")),
        Filter::Compare(c) => {
            format!("[{} {} {}]", render_key(&c.key), c.op.as_str(), render_lit(&c.value)).replace(" _]", "]")
        }
    }
}

fn render_key(k: &Key) -> String {
    match k {
        Key::Metric(n) => format!("metric:{n}"),
        Key::Param(n) => format!("param:{n}"),
        Key::Tag(n) => format!("tag:{n}"),
        Key::Attribute(a) => format!("attr:{a:?}"),
        Key::Dataset(d) => format!("dataset:{d:?}"),
        Key::Metadata(n) => format!("metadata:{n}"),
    }
}

fn render_lit(l: &Literal) -> String {
    match l {
        Literal::String(s) => format!("'{s}'"),
        Literal::Number(n) => format!("{n}"),
        Literal::List(items) => format!("{items:?}"),
        Literal::None => "_".into(),
    }
}

fn check(input: &str, target: Target) -> String {
    match parse_filter(input, target) {
        Ok(Some(f)) => render(&f),
        Ok(None) => "ALL".into(),
        Err(e) => format!("error@{}: {}", e.position, e.message),
    }
}

#[test]
fn run_filters() {
    let cases = [
        ("", "ALL"),
        ("   ", "ALL"),
        ("metrics.acc > 0.9", "[metric:acc > 0.9]"),
        ("metric.acc>=-1e-3", "[metric:acc >= -0.001]"),
        ("params.lr = '0.01'", "[param:lr = '0.01']"),
        ("params.lr = \"0.01\"", "[param:lr = '0.01']"),
        ("parameters.`my param` != 'x'", "[param:my param != 'x']"),
        ("metrics.\"a b\" < 3", "[metric:a b < 3]"),
        ("tags.mlflow.runName LIKE 'train%'", "[tag:mlflow.runName LIKE 'train%']"),
        ("tags.`mlflow.user` ilike '%ALICE%'", "[tag:mlflow.user ILIKE '%ALICE%']"),
        ("`datasets`.`name` = 'toy'", "[dataset:Name = 'toy']"),
        ("`metrics`.acc > 1", "[metric:acc > 1]"),
        ("`params`.`a.b` = 'x'", "[param:a.b = 'x']"),
        ("attributes.status = 'FINISHED'", "[attr:Status = 'FINISHED']"),
        ("status = 'FINISHED'", "[attr:Status = 'FINISHED']"),
        ("run_name = 'x'", "[attr:RunName = 'x']"),
        ("attr.start_time > 1000", "[attr:StartTime > 1000]"),
        ("run.created >= 5", "[attr:StartTime >= 5]"),
        ("attributes.run_id IN ('a', 'b')", "[attr:RunId IN [\"a\", \"b\"]]"),
        ("attributes.run_id not in ('a')", "[attr:RunId NOT IN [\"a\"]]"),
        ("datasets.digest = 'abc'", "[dataset:Digest = 'abc']"),
        ("datasets.context IN ('train', 'eval')", "[dataset:Context IN [\"train\", \"eval\"]]"),
        ("tags.note IS NULL", "[tag:note IS NULL]"),
        ("params.x is not null", "[param:x IS NOT NULL]"),
        ("metrics.a > 1 and params.b = 'c'", "(and [metric:a > 1] [param:b = 'c'])"),
        ("metrics.a > 1 AND metrics.b < 2 AND tags.t = 'x'", "(and [metric:a > 1] [metric:b < 2] [tag:t = 'x'])"),
        // Beyond MLflow: OR, parentheses, precedence.
        ("metrics.a > 1 OR metrics.b < 2 AND tags.t = 'x'", "(or [metric:a > 1] (and [metric:b < 2] [tag:t = 'x']))"),
        ("(metrics.a > 1 OR metrics.b < 2) AND tags.t = 'x'", "(and (or [metric:a > 1] [metric:b < 2]) [tag:t = 'x'])"),
        ("((params.p = 'it''s'))", "[param:p = 'it''s']"),
        ("params.p IN ('a','b')", "[param:p IN [\"a\", \"b\"]]"),
        // Errors point at their position.
        ("metrics.acc > 'high'", "error@14: Expected numeric value type for metric. Found 'high'"),
        (
            "params.lr = 0.01",
            "error@12: Expected a quoted string value for parameter (e.g. '0.01'), found an unquoted number",
        ),
        (
            "metrics.acc LIKE 1",
            "error@0: Invalid comparator 'LIKE' for metric; use one of =, !=, <, <=, >, >=, IS NULL, IS NOT NULL",
        ),
        (
            "foo.bar = 'x'",
            "error@0: Invalid entity type 'foo'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']",
        ),
        (
            "attributes.color = 'x'",
            "error@0: Invalid attribute key 'color' specified. Valid keys are ['run_id', 'run_name', 'status', 'start_time', 'end_time', 'user_id', 'artifact_uri', 'lifecycle_stage']",
        ),
        // MLflow reads juxtaposed, doubled, leading and trailing ANDs as AND.
        ("metrics.a > 1 metrics.b > 2", "(and [metric:a > 1] [metric:b > 2])"),
        ("AND metrics.a > 1 AND AND metrics.b > 2 AND", "(and [metric:a > 1] [metric:b > 2])"),
        ("metrics.a > 1 'x'", "error@14: Unexpected string 'x' after a complete filter; join clauses with AND or OR"),
        ("metrics.a >", "error@11: Expected a value but the filter ended"),
        ("(metrics.a > 1", "error@14: Missing ')'"),
        ("params.a = 'open", "error@11: Unterminated '-quoted text"),
        ("metrics.a > 1 OR", "error@16: Expected a key such as metrics.accuracy but the filter ended"),
        ("metrics.a ~ 1", "error@10: Unexpected character '~'"),
        ("params.a IN 'x'", "error@12: Expected a parenthesized list such as ('a', 'b') after IN"),
        ("datasets.color = 'x'", "error@0: Invalid dataset key 'color'. Valid keys are 'name', 'digest', 'context'"),
        ("metrics. = 1", "error@9: Expected a key name after 'metrics.'"),
    ];
    let mut failures = Vec::new();
    for (input, expected) in cases {
        let got = check(input, Target::Runs);
        if got != expected {
            failures.push(format!("{input:?}\n   expected {expected}\n   got      {got}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn experiment_filters() {
    let cases = [
        ("name = 'a'", "[attr:Name = 'a']"),
        ("attribute.name LIKE 'x%'", "[attr:Name LIKE 'x%']"),
        ("tags.team = 'ml'", "[tag:team = 'ml']"),
        ("creation_time > 5", "[attr:CreationTime > 5]"),
        ("metrics.a > 1", "error@0: Invalid entity type 'metrics'. Valid values are ['tag', 'attribute']"),
    ];
    for (input, expected) in cases {
        assert_eq!(check(input, Target::Experiments), expected, "{input}");
    }
}

#[test]
fn order_by_clauses() {
    let cases = [
        ("metrics.acc DESC", Ok(OrderBy { key: Key::Metric("acc".into()), ascending: false })),
        ("params.`a b`", Ok(OrderBy { key: Key::Param("a b".into()), ascending: true })),
        ("attributes.start_time asc", Ok(OrderBy { key: Key::Attribute(Attribute::StartTime), ascending: true })),
        ("start_time", Ok(OrderBy { key: Key::Attribute(Attribute::StartTime), ascending: true })),
        ("metrics.acc sideways", Err(12)),
        ("metrics.acc DESC extra", Err(17)),
    ];
    for (input, expected) in cases {
        let got = parse_order_by(input, Target::Runs).map_err(|e| e.position);
        assert_eq!(got, expected, "{input}");
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = format!("{}metrics.a > 1{}", "(".repeat(100_000), ")".repeat(100_000));
    let err = parse_filter(&deep, Target::Runs).unwrap_err();
    assert!(err.message.contains("nest"), "{err}");
    let ok = format!("{}metrics.a > 1{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
    assert!(parse_filter(&ok, Target::Runs).is_ok());
}

#[test]
fn huge_literals_parse() {
    let big = "x".repeat(1_000_000);
    let f = parse_filter(&format!("params.p = '{big}'"), Target::Runs).unwrap().unwrap();
    assert!(matches!(f, Filter::Compare(Comparison { value: Literal::String(s), .. }) if s.len() == 1_000_000));
}

/// Renders an AST back to filter text that MLflow's grammar would read.
fn to_text(f: &Filter) -> String {
    match f {
        Filter::And(parts) => parts.iter().map(|p| format!("({})", to_text(p))).collect::<Vec<_>>().join(" AND "),
        Filter::Or(parts) => parts.iter().map(|p| format!("({})", to_text(p))).collect::<Vec<_>>().join(" OR "),
        Filter::Compare(c) => {
            let key = match &c.key {
                Key::Metric(n) => format!("metrics.`{n}`"),
                Key::Param(n) => format!("params.`{n}`"),
                Key::Tag(n) => format!("tags.`{n}`"),
                _ => unreachable!("generator makes no other keys"),
            };
            let value = match &c.value {
                Literal::String(s) => format!("'{s}'"),
                Literal::Number(n) => format!("{n:?}"),
                Literal::List(items) => {
                    format!("({})", items.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", "))
                }
                Literal::None => String::new(),
            };
            format!("{key} {} {value}", c.op.as_str()).trim_end().to_string()
        }
    }
}

fn comparison() -> impl Strategy<Value = Filter> {
    let name = "[a-z][a-z0-9_ .-]{0,8}";
    let text = "[ -&(-\\[\\]-~]{0,12}"; // printable ASCII without ' and \\
    prop_oneof![
        (name, prop_oneof![Just(CompareOp::Lt), Just(CompareOp::Ge), Just(CompareOp::Ne)], -1e6f64..1e6)
            .prop_map(|(n, op, v)| Filter::Compare(Comparison { key: Key::Metric(n), op, value: Literal::Number(v) })),
        (name, prop_oneof![Just(CompareOp::Eq), Just(CompareOp::Like), Just(CompareOp::ILike)], text)
            .prop_map(|(n, op, v)| Filter::Compare(Comparison { key: Key::Param(n), op, value: Literal::String(v) })),
        (name, proptest::collection::vec(text, 1..4)).prop_map(|(n, v)| Filter::Compare(Comparison {
            key: Key::Tag(n),
            op: CompareOp::In,
            value: Literal::List(v)
        })),
        name.prop_map(|n| Filter::Compare(Comparison {
            key: Key::Tag(n),
            op: CompareOp::IsNull,
            value: Literal::None
        })),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    comparison().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            proptest::collection::vec(inner, 2..4).prop_map(Filter::Or),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,200}") {
        let _ = parse_filter(&s, Target::Runs);
        let _ = parse_filter(&s, Target::Experiments);
        let _ = parse_order_by(&s, Target::Runs);
    }

    #[test]
    fn grammar_shaped_noise_never_panics(parts in proptest::collection::vec(
        prop_oneof![
            Just("metrics.a"), Just("params.`b c`"), Just("tags.\"x\""), Just("AND"), Just("OR"), Just("("), Just(")"),
            Just("="), Just("!="), Just(">="), Just("'s'"), Just("1.5e3"), Just("-2"), Just("IN"), Just("NOT"), Just("IS"),
            Just("NULL"), Just("LIKE"), Just(","), Just("`"), Just("'"), Just("."),
        ], 0..30)) {
        let s = parts.join(" ");
        if let Err(e) = parse_filter(&s, Target::Runs) {
            prop_assert!(e.position <= s.chars().count(), "position {} beyond {}", e.position, s.len());
        }
    }

    #[test]
    fn rendered_filters_parse_back_to_the_same_ast(f in filter()) {
        let text = to_text(&f);
        let parsed = parse_filter(&text, Target::Runs).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(parsed.map(|p| flatten(&p)), Some(flatten(&f)), "{}", text);
    }
}

/// Nested ANDs inside ANDs mean the same as one flat AND; compare modulo that.
fn flatten(f: &Filter) -> Filter {
    match f {
        Filter::And(parts) => Filter::And(
            parts
                .iter()
                .map(flatten)
                .flat_map(|p| match p {
                    Filter::And(inner) => inner,
                    other => vec![other],
                })
                .collect(),
        ),
        Filter::Or(parts) => Filter::Or(
            parts
                .iter()
                .map(flatten)
                .flat_map(|p| match p {
                    Filter::Or(inner) => inner,
                    other => vec![other],
                })
                .collect(),
        ),
        other => other.clone(),
    }
}
