//! A wrong rules file is refused with every problem as `file:line:column: message`.

use crate::helpers::{HEAD, errors};

fn with_head(body: &str) -> String {
    format!("{HEAD}{body}")
}

#[test]
fn a_valid_minimal_file_has_no_errors() {
    assert_eq!(errors(&with_head("")), Vec::<String>::new());
}

#[test]
fn toml_syntax_error_is_located() {
    let lines = errors(&with_head("[inputs.x\ntype = \"bool\"\n"));
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("t.toml:9:"), "{lines:?}");
}

#[test]
fn unknown_key_is_located_and_named() {
    let lines = errors(&with_head(
        "[inputs.x]\ntype = \"bool\"\nlabel = \"X\"\nlable = \"typo\"\n",
    ));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("t.toml:12:1: unknown field `lable`"),
        "{lines:?}"
    );
}

#[test]
fn missing_identity_fields_are_all_reported() {
    let lines = errors("[regulation]\nid = \"t\"\n");
    for key in [
        "title",
        "service",
        "school_year",
        "authority",
        "source",
        "reference_date",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(&format!("needs '{key}'"))),
            "{key}: {lines:?}"
        );
    }
    assert!(lines.iter().all(|l| l.starts_with("t.toml:1:1:")), "{lines:?}");
}

#[test]
fn unknown_input_in_an_expression_points_at_the_name_with_a_hint() {
    let body = "[inputs.resident]\ntype = \"bool\"\nlabel = \"R\"\n\n[criteria.r]\nlabel = \"R\"\nwhen = \"residnt\"\npoints = 3\n";
    let lines = errors(&with_head(body));
    // Line 15 is `when = "residnt"`; the name starts after `when = "`, at column 9.
    assert_eq!(
        lines,
        vec!["t.toml:15:9: in r: unknown name 'residnt' (did you mean 'resident'?)"]
    );
}

#[test]
fn type_mismatch_is_reported() {
    let body = "[inputs.born]\ntype = \"date\"\nlabel = \"B\"\n\n[criteria.r]\nlabel = \"R\"\nwhen = \"born > 3\"\npoints = 3\n";
    let lines = errors(&with_head(body));
    assert_eq!(
        lines,
        vec!["t.toml:15:9: in r: cannot compare a date with a whole number"]
    );
}

#[test]
fn misspelled_option_is_reported_with_the_options() {
    let body = "[inputs.work]\ntype = \"choice\"\nlabel = \"W\"\noptions = { employed = \"E\", none = \"N\" }\n\n[criteria.r]\nlabel = \"R\"\nwhen = \"work == 'employd'\"\npoints = 3\n";
    let lines = errors(&with_head(body));
    assert_eq!(
        lines,
        vec!["t.toml:16:17: in r: 'employd' is not one of the options (employed, none)"]
    );
}

#[test]
fn overlapping_and_gapped_bands_are_refused() {
    let body = r#"[inputs.isee]
type = "money"
label = "ISEE"

[criteria.isee]
label = "ISEE"
value = "isee"
bands = [
  { to = 10000.00, points = 5 },
  { from = 10000.00, to = 20000.00, points = 3 },
  { from = 20000.02, points = 1 },
]
"#;
    let lines = errors(&with_head(body));
    assert_eq!(
        lines,
        vec![
            "t.toml:18:3: bands overlap: this band starts at 10000, the previous one ends at 10000",
            "t.toml:19:3: gap between bands: the previous band ends at 20000, so this one must start at 20000.01",
        ]
    );
}

#[test]
fn a_tie_break_on_an_undefined_value_is_refused() {
    let lines = errors(&with_head(
        "[[tie_break]]\nby = \"household\"\norder = \"desc\"\n",
    ));
    assert_eq!(lines, vec!["t.toml:10:7: in tie_break: unknown name 'household'"]);
}

#[test]
fn cycles_in_derived_values_are_refused() {
    let body = "[derived.a]\nexpr = \"b + 1\"\n\n[derived.b]\nexpr = \"a + 1\"\n";
    let lines = errors(&with_head(body));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("cycle: a → b → a"), "{lines:?}");
    assert!(lines[0].starts_with("t.toml:13:9:"), "{lines:?}");
}

#[test]
fn every_problem_is_listed_at_once() {
    let body = r#"[inputs.n]
type = "integer"
label = "N"

[criteria.one]
label = "One"
when = "n > 'x'"
points = 1

[criteria.two]
label = "Two"
points = "n +"

[criteria.three]
label = "Three"
subtotal = "nope"
points = 1
"#;
    let lines = errors(&with_head(body));
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("t.toml:15:"), "{lines:?}");
    assert!(lines[1].starts_with("t.toml:20:"), "{lines:?}");
    assert!(
        lines[2].starts_with("t.toml:24:12: unknown subtotal 'nope'"),
        "{lines:?}"
    );
}

#[test]
fn tier_groups_need_a_catch_all_last() {
    let body = "[inputs.r]\ntype = \"bool\"\nlabel = \"R\"\n\n[tiers.res]\nlabel = \"Res\"\ngroups = [\n  { id = \"a\", label = \"A\", when = \"r\" },\n  { id = \"b\", label = \"B\", when = \"not r\" },\n]\n";
    let lines = errors(&with_head(body));
    assert_eq!(
        lines,
        vec!["t.toml:17:10: the last group takes everyone left: remove its 'when'"]
    );
}

#[test]
fn duplicate_and_reserved_names_are_refused() {
    let body =
        "[inputs.total]\ntype = \"bool\"\nlabel = \"T\"\n\n[params]\nx = 1\n\n[derived.x]\nexpr = \"1\"\n";
    let lines = errors(&with_head(body));
    assert!(
        lines.iter().any(|l| l.contains("'total' is a reserved name")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("'x' is already declared as a parameter")),
        "{lines:?}"
    );
}

#[test]
fn extends_cycles_and_missing_files_are_reported() {
    let a = "extends = \"b.toml\"\n[regulation]\nid = \"a\"\n";
    let b = "extends = \"a.toml\"\n[regulation]\nid = \"b\"\n";
    let err = graduatorie_rules::load("dir/a.toml", &mut |p| match p {
        "dir/a.toml" => Ok(a.into()),
        "dir/b.toml" => Ok(b.into()),
        _ => Err("no such file".into()),
    })
    .unwrap_err();
    assert_eq!(
        err.lines(),
        vec!["dir/b.toml:1:11: 'extends' makes a cycle: dir/a.toml is already in the chain"]
    );
    let err = graduatorie_rules::load("dir/a.toml", &mut |p| match p {
        "dir/a.toml" => Ok(a.into()),
        _ => Err("no such file".into()),
    })
    .unwrap_err();
    assert_eq!(
        err.lines(),
        vec!["dir/a.toml:1:11: cannot read dir/b.toml: no such file"]
    );
}

#[test]
fn inputs_no_rule_reads_are_refused() {
    let body = r#"[inputs.used]
type = "bool"
label = "U"

[inputs.grandparents_health]
type = "bool"
label = "Salute dei nonni"

[inputs.parents]
type = "list"
label = "Genitori"
item = "parent"

[inputs.parents.fields.work]
type = "bool"
label = "Lavora"

[inputs.parents.fields.origin]
type = "choice"
label = "Paese di origine"
options = { it = "Italia", other = "Altro" }

[derived.unused_derived]
expr = "grandparents_health"

[criteria.c]
label = "C"
when = "used and count(parents, parent.work) > 0"
points = 1
"#;
    let lines = errors(&with_head(body));
    // A derived value nobody reads does not make its inputs read (the Garante's nursery-form case).
    assert_eq!(
        lines,
        vec![
            "t.toml:13:1: input 'grandparents_health' is not read by any rule: the form must not ask for data the regulation does not use (remove it, or write the rule that uses it)",
            "t.toml:26:1: field 'origin' of list 'parents' is not read by any rule: the form must not ask for data the regulation does not use (remove it, or write the rule that uses it)",
        ]
    );
}

#[test]
fn allocation_keys_are_checked_and_located() {
    let lines = errors(&with_head(
        "[allocation]\nmechanism = \"lottery\"\nrefusal = \"allowed\"\nno_answer = \"maybe\"\nlists = \"per_section\"\n",
    ));
    // HEAD has 8 lines, so [allocation] is on line 9.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("t.toml:10:13: mechanism must be")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("t.toml:11:11: refusal = \"allowed\" needs refusals_allowed")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("t.toml:12:13: no_answer must be")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("t.toml:13:9: lists = \"per_section\" needs [sections]")),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 4, "{lines:?}");
}

#[test]
fn allocation_defaults_and_settings() {
    use graduatorie_rules::model::{ListKind, MechanismKind, RefusalPolicy};
    let reg = graduatorie_rules::compile_str("t.toml", &with_head("")).unwrap();
    let a = reg.allocation();
    assert_eq!(
        (a.mechanism, a.lists, a.refusal, a.no_answer_accepts, a.move_up),
        (
            MechanismKind::GlobalOrder,
            ListKind::Global,
            RefusalPolicy::LoseApplication,
            false,
            false
        )
    );
    let reg = graduatorie_rules::compile_str(
        "t.toml",
        &with_head("[allocation]\nmechanism = \"deferred_acceptance\"\nrefusal = \"allowed\"\nrefusals_allowed = 2\nno_answer = \"accept\"\nmove_up = true\n"),
    )
    .unwrap();
    let a = reg.allocation();
    assert_eq!(
        (a.mechanism, a.refusal, a.no_answer_accepts, a.move_up),
        (
            MechanismKind::DeferredAcceptance,
            RefusalPolicy::Allowed(2),
            true,
            true
        )
    );
}

#[test]
fn reserve_keys_are_checked() {
    let lines = errors(&with_head(
        "[inputs.r]\ntype = \"bool\"\nlabel = \"R\"\n[allocation]\nmechanism = \"first_choice_first\"\n[allocation.reserve]\nwhen = \"r + 1\"\nseats = \"120%\"\ncap = -1\n",
    ));
    assert!(
        lines.iter().any(|l| l.contains("not \"first_choice_first\"")),
        "{lines:?}"
    );
    // HEAD has 8 lines: the input is on 9-11, [allocation] on 12, the reserve's keys on 15-17.
    for start in [
        "t.toml:15:9: in reserve: '+' needs numbers",
        "t.toml:16:9: seats must be",
        "t.toml:17:7: cap must be",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(start)), "{start}: {lines:?}");
    }
    assert_eq!(lines.len(), 4, "{lines:?}");
    // A reserve that reads an input counts as reading it: no "unused input" refusal here.
    assert!(
        errors(&with_head(
            "[inputs.r]\ntype = \"bool\"\nlabel = \"R\"\n[allocation.reserve]\nwhen = \"r\"\nseats = 2\n"
        ))
        .is_empty()
    );
}

#[test]
fn time_slot_must_name_a_choice_asked_of_everyone() {
    let lines = errors(&with_head(
        "[inputs.r]\ntype = \"bool\"\nlabel = \"R\"\n[allocation]\ntime_slot = \"r\"\n",
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("t.toml:13:13: 'r' is not a choice input")),
        "{lines:?}"
    );
    let lines = errors(&with_head("[allocation]\ntime_slot = \"nothing\"\n"));
    assert!(
        lines.iter().any(|l| l.contains("'nothing' is not an input")),
        "{lines:?}"
    );
    let lines = errors(&with_head(
        "[inputs.s]\ntype = \"choice\"\nlabel = \"S\"\noptional = true\noptions = { a = \"A\", b = \"B\" }\n[allocation]\ntime_slot = \"s\"\n",
    ));
    assert!(
        lines.iter().any(|l| l.contains("must be asked of everyone")),
        "{lines:?}"
    );
}

#[test]
fn grant_and_budget_edge_are_checked() {
    let lines = errors(&with_head(
        "[inputs.isee]\ntype = \"money\"\nlabel = \"ISEE\"\n[grant]\nlabel = \"Buono\"\nvalue = \"isee\"\n[allocation]\nbudget_edge = \"later\"\n",
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[grant] needs at least one [grant.components.ID]")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("t.toml:16:15: budget_edge must be")),
        "{lines:?}"
    );
}

#[test]
fn siblings_together_needs_one_order() {
    let lines = errors(&with_head(
        "[allocation]\nmechanism = \"deferred_acceptance\"\nsiblings_together = true\n",
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("t.toml:11:21: siblings_together works with")),
        "{lines:?}"
    );
}

#[test]
fn border_sections_are_checked() {
    let lines = errors(&with_head(
        "[inputs.age]\ntype = \"integer\"\nlabel = \"Mesi\"\n[sections.a]\nlabel = \"A\"\nwhen = \"age < 12\"\nspare_to = \"zz\"\nspare_if = \"age >= 11\"\n[sections.b]\nlabel = \"B\"\nwhen = \"age >= 12\"\nspare_to = \"a\"\n",
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("t.toml:15:12: 'zz' is not a section")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("section 'b': spare_to and spare_if go together")),
        "{lines:?}"
    );
}
