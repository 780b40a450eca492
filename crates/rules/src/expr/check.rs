//! Type checking: a syntax tree plus the names a rules file declares → a compiled [`Expr`] and its type.
//!
//! Every name is resolved and every operator checked against the types of its operands when the file is
//! loaded, so an expression that would fail on some application (comparing a date with a number,
//! misspelling an option) is refused before any application is scored.

use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;

use super::parse::{Ast, AstKind, BinOp, UnOp};
use super::{ArithOp, CmpOp, Expr};
use crate::value::{Ty, Value};

/// What a name stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Binding {
    /// A scalar input.
    Input(u16, Ty),
    /// A derived value.
    Derived(u16, Ty),
    /// A constant (parameter or reference date).
    Const(Value, Ty),
    /// A repeated input.
    List(u16),
    /// The facility being ranked.
    Facility,
    /// Its position in the preferences.
    PreferenceRank,
    /// A subtotal.
    Subtotal(u16),
    /// The total score.
    Total,
}

/// The names visible to an expression; implemented by the regulation compiler for each context
/// (derived values, criteria, tie-breaks…).
pub trait Scope {
    /// Resolves a name; `Err` carries a message when the name exists but cannot be used here.
    fn lookup(&mut self, name: &str) -> Result<Option<Binding>, String>;
    /// A field of a list's records.
    fn field(&self, list: u16, name: &str) -> Option<(u16, Ty)>;
    /// The name records of a list are bound to (`parent` for `parents`).
    fn item_name(&self, list: u16) -> String;
    /// The index of an option of a choice list.
    fn option(&self, set: u16, name: &str) -> Option<u16>;
    /// The options of a choice list, for error messages.
    fn options(&self, set: u16) -> Vec<String>;
    /// Every name in scope, for "did you mean" hints.
    fn names(&self) -> Vec<String>;
    /// Describes a type in words.
    fn describe(&self, ty: Ty) -> String;
}

/// A type error, with the byte range inside the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    /// First byte.
    pub start: usize,
    /// After the last byte.
    pub end: usize,
    /// What is wrong.
    pub message: String,
}

type Checked = Result<(Expr, Ty), TypeError>;

/// Type-checks and compiles one expression.
pub fn check(ast: &Ast, scope: &mut dyn Scope) -> Checked {
    check_with_items(ast, scope, &[])
}

/// Type-checks an expression in which some record names are already bound (inside `for_each`).
pub fn check_with_items(ast: &Ast, scope: &mut dyn Scope, items: &[(String, u16)]) -> Checked {
    Checker {
        scope,
        items: items.to_vec(),
    }
    .check(ast)
}

/// Type-checks an expression that must have type `want` (a whole number is accepted where a decimal is
/// wanted).
pub fn check_as_with_items(
    ast: &Ast,
    scope: &mut dyn Scope,
    want: Ty,
    what: &str,
    items: &[(String, u16)],
) -> Result<Expr, TypeError> {
    let (expr, ty) = check_with_items(ast, scope, items)?;
    let ok = ty == want || (want == Ty::Dec && ty == Ty::Int);
    if ok {
        Ok(expr)
    } else {
        let found = scope.describe(ty);
        let wanted = scope.describe(want);
        Err(err(
            ast,
            format!("{what} must be {wanted}, but this expression is {found}"),
        ))
    }
}

fn err(ast: &Ast, message: impl Into<String>) -> TypeError {
    TypeError {
        start: ast.start,
        end: ast.end,
        message: message.into(),
    }
}

struct Checker<'s> {
    scope: &'s mut dyn Scope,
    /// Names bound by enclosing aggregates, innermost last.
    items: Vec<(String, u16)>,
}

impl Checker<'_> {
    fn check(&mut self, ast: &Ast) -> Checked {
        match &ast.kind {
            AstKind::Int(n) => Ok((Expr::Const(Value::Int(*n)), Ty::Int)),
            AstKind::Dec(d) => Ok((Expr::Const(Value::Dec(*d)), Ty::Dec)),
            AstKind::Bool(b) => Ok((Expr::Const(Value::Bool(*b)), Ty::Bool)),
            AstKind::Str(s) => Err(err(
                ast,
                format!("text '{s}' can only be compared with a choice, a date or a date and time"),
            )),
            AstKind::List(_) => Err(err(ast, "a list in brackets can only stand after 'in'")),
            AstKind::Name(name) => self.name(ast, name),
            AstKind::Field(target, field) => self.field(ast, target, field),
            AstKind::Unary(UnOp::Not, inner) => {
                let e = self.want(inner, Ty::Bool, "the operand of 'not'")?;
                Ok((Expr::Not(Box::new(e)), Ty::Bool))
            }
            AstKind::Unary(UnOp::Neg, inner) => {
                let (e, ty) = self.check(inner)?;
                if !ty.is_number() {
                    return Err(err(
                        inner,
                        format!("'-' needs a number, found {}", self.scope.describe(ty)),
                    ));
                }
                Ok((Expr::Neg(Box::new(e)), ty))
            }
            AstKind::Binary(op, l, r) => self.binary(ast, *op, l, r),
            AstKind::If(c, y, n) => {
                let c = self.want(c, Ty::Bool, "the condition of 'if'")?;
                let (ye, yt) = self.check(y)?;
                let (ne, nt) = self.check(n)?;
                let ty = self.unify(yt, nt).ok_or_else(|| {
                    err(
                        ast,
                        format!(
                            "the two branches of 'if' have different types: {} and {}",
                            self.scope.describe(yt),
                            self.scope.describe(nt)
                        ),
                    )
                })?;
                Ok((Expr::If(Box::new(c), Box::new(ye), Box::new(ne)), ty))
            }
            AstKind::Call(f, args) => self.call(ast, f, args),
        }
    }

    fn want(&mut self, ast: &Ast, want: Ty, what: &str) -> Result<Expr, TypeError> {
        let (e, ty) = self.check(ast)?;
        if ty == want || (want == Ty::Dec && ty == Ty::Int) {
            Ok(e)
        } else {
            let (wanted, found) = (self.scope.describe(want), self.scope.describe(ty));
            Err(err(ast, format!("{what} must be {wanted}, found {found}")))
        }
    }

    fn unify(&self, a: Ty, b: Ty) -> Option<Ty> {
        match (a, b) {
            _ if a == b => Some(a),
            (Ty::Int, Ty::Dec) | (Ty::Dec, Ty::Int) => Some(Ty::Dec),
            _ => None,
        }
    }

    fn name(&mut self, ast: &Ast, name: &str) -> Checked {
        if let Some((_, list)) = self.items.iter().rev().find(|(n, _)| n == name) {
            return Ok((Expr::ItemIndex(*list), Ty::Item(*list)));
        }
        let found = self.scope.lookup(name).map_err(|m| err(ast, m))?;
        match found {
            Some(Binding::Input(slot, ty)) => Ok((Expr::Input(slot), ty)),
            Some(Binding::Derived(i, ty)) => Ok((Expr::Derived(i), ty)),
            Some(Binding::Const(v, ty)) => Ok((Expr::Const(v), ty)),
            Some(Binding::List(l)) => Ok((Expr::Count(l, None), Ty::List(l))),
            Some(Binding::Facility) => Ok((Expr::Facility, Ty::Facility)),
            Some(Binding::PreferenceRank) => Ok((Expr::PreferenceRank, Ty::Int)),
            Some(Binding::Subtotal(i)) => Ok((Expr::Subtotal(i), Ty::Dec)),
            Some(Binding::Total) => Ok((Expr::Total, Ty::Dec)),
            None => {
                let mut names = self.scope.names();
                names.extend(self.items.iter().map(|(n, _)| n.clone()));
                let hint = closest(name, &names)
                    .map(|n| format!(" (did you mean '{n}'?)"))
                    .unwrap_or_default();
                Err(err(ast, format!("unknown name '{name}'{hint}")))
            }
        }
    }

    fn field(&mut self, ast: &Ast, target: &Ast, field: &str) -> Checked {
        let (_, ty) = self.check(target)?;
        let Ty::Item(list) = ty else {
            return Err(err(
                target,
                format!(
                    "'.{field}' can follow only a record of a list, not {}",
                    self.scope.describe(ty)
                ),
            ));
        };
        if field == "position" {
            return Ok((Expr::ItemIndex(list), Ty::Int));
        }
        match self.scope.field(list, field) {
            Some((f, ty)) => Ok((Expr::ItemField { list, field: f }, ty)),
            None => Err(err(
                ast,
                format!("'{}' has no field '{field}'", self.scope.item_name(list)),
            )),
        }
    }

    fn binary(&mut self, ast: &Ast, op: BinOp, l: &Ast, r: &Ast) -> Checked {
        match op {
            BinOp::And | BinOp::Or => {
                let what = format!("each side of '{}'", op.symbol());
                let a = self.want(l, Ty::Bool, &what)?;
                let b = self.want(r, Ty::Bool, &what)?;
                let e = if op == BinOp::And {
                    Expr::And(Box::new(a), Box::new(b))
                } else {
                    Expr::Or(Box::new(a), Box::new(b))
                };
                Ok((e, Ty::Bool))
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                self.compare(ast, op, l, r)
            }
            BinOp::In => self.membership(l, r),
            BinOp::Coalesce => {
                let (a, at) = self.check(l)?;
                let (b, bt) = self.operand_like(r, at)?;
                let ty = self.unify(at, bt).ok_or_else(|| {
                    err(
                        ast,
                        format!(
                            "'??' needs the same type on both sides: {} and {}",
                            self.scope.describe(at),
                            self.scope.describe(bt)
                        ),
                    )
                })?;
                Ok((Expr::Coalesce(Box::new(a), Box::new(b)), ty))
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                let (a, at) = self.check(l)?;
                let (b, bt) = self.check(r)?;
                for (side, ty) in [(l, at), (r, bt)] {
                    if !ty.is_number() {
                        let hint = if ty == Ty::Date {
                            " (use months(a, b) or years(a, b) for ages)"
                        } else {
                            ""
                        };
                        return Err(err(
                            side,
                            format!(
                                "'{}' needs numbers, found {}{hint}",
                                op.symbol(),
                                self.scope.describe(ty)
                            ),
                        ));
                    }
                }
                let (aop, ty) = match op {
                    BinOp::Add => (ArithOp::Add, self.unify(at, bt)),
                    BinOp::Sub => (ArithOp::Sub, self.unify(at, bt)),
                    BinOp::Mul => (ArithOp::Mul, self.unify(at, bt)),
                    _ => (ArithOp::Div, Some(Ty::Dec)),
                };
                Ok((Expr::Arith(aop, Box::new(a), Box::new(b)), ty.unwrap_or(Ty::Dec)))
            }
        }
    }

    /// Checks `ast` where a value of type `like` is expected: text literals become options, dates or
    /// instants of that type.
    fn operand_like(&mut self, ast: &Ast, like: Ty) -> Checked {
        let AstKind::Str(text) = &ast.kind else {
            return self.check(ast);
        };
        match like {
            Ty::Choice(set) => match self.scope.option(set, text) {
                Some(i) => Ok((Expr::Const(Value::Choice(i)), like)),
                None => Err(err(
                    ast,
                    format!(
                        "'{text}' is not one of the options ({})",
                        self.scope.options(set).join(", ")
                    ),
                )),
            },
            Ty::Date => Date::from_str(text)
                .map(|d| (Expr::Const(Value::Date(d)), Ty::Date))
                .map_err(|_| err(ast, format!("'{text}' is not a date written as YYYY-MM-DD"))),
            Ty::Time => Timestamp::from_str(text)
                .map(|t| (Expr::Const(Value::Time(t)), Ty::Time))
                .map_err(|_| {
                    err(
                        ast,
                        format!("'{text}' is not a date and time such as 2026-05-31T23:59:59+02:00"),
                    )
                }),
            _ => self.check(ast),
        }
    }

    fn compare(&mut self, ast: &Ast, op: BinOp, l: &Ast, r: &Ast) -> Checked {
        // A text literal takes its meaning from the other side, whichever side it is on.
        let ((a, at), (b, bt)) = if matches!(l.kind, AstKind::Str(_)) {
            let right = self.check(r)?;
            (self.operand_like(l, right.1)?, right)
        } else {
            let left = self.check(l)?;
            let right = self.operand_like(r, left.1)?;
            (left, right)
        };
        if self.unify(at, bt).is_none() {
            return Err(err(
                ast,
                format!(
                    "cannot compare {} with {}",
                    self.scope.describe(at),
                    self.scope.describe(bt)
                ),
            ));
        }
        let ordered = matches!(at, Ty::Int | Ty::Dec | Ty::Date | Ty::Time);
        let cmp = match op {
            BinOp::Eq => CmpOp::Eq,
            BinOp::Ne => CmpOp::Ne,
            BinOp::Lt => CmpOp::Lt,
            BinOp::Le => CmpOp::Le,
            BinOp::Gt => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        if !ordered && !matches!(cmp, CmpOp::Eq | CmpOp::Ne) {
            return Err(err(
                ast,
                format!(
                    "'{}' cannot order {}: use '==' or '!='",
                    op.symbol(),
                    self.scope.describe(at)
                ),
            ));
        }
        if matches!(at, Ty::List(_) | Ty::Item(_) | Ty::Facilities) {
            return Err(err(ast, format!("cannot compare {}", self.scope.describe(at))));
        }
        Ok((Expr::Cmp(cmp, Box::new(a), Box::new(b)), Ty::Bool))
    }

    fn membership(&mut self, l: &Ast, r: &Ast) -> Checked {
        let (a, at) = self.check(l)?;
        if let AstKind::List(items) = &r.kind {
            if !matches!(at, Ty::Choice(_) | Ty::Int) {
                return Err(err(
                    l,
                    format!(
                        "'in [..]' works on choices and whole numbers, not {}",
                        self.scope.describe(at)
                    ),
                ));
            }
            let mut set = Vec::with_capacity(items.len());
            for item in items {
                match self.operand_like(item, at)? {
                    (Expr::Const(v), ty) if ty == at => set.push(v),
                    _ => {
                        return Err(err(
                            item,
                            format!(
                                "list members must be literal values of the same type as {}",
                                self.scope.describe(at)
                            ),
                        ));
                    }
                }
            }
            return Ok((Expr::InSet(Box::new(a), set.into_boxed_slice()), Ty::Bool));
        }
        let (b, bt) = self.check(r)?;
        if at == Ty::Facility && bt == Ty::Facilities {
            return Ok((Expr::InFacilities(Box::new(a), Box::new(b)), Ty::Bool));
        }
        Err(err(
            r,
            format!(
                "'in' needs a list in brackets, or a facility and a list of facilities; found {} in {}",
                self.scope.describe(at),
                self.scope.describe(bt)
            ),
        ))
    }

    fn call(&mut self, ast: &Ast, f: &str, args: &[Ast]) -> Checked {
        let arity = |n: usize| -> Result<(), TypeError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(err(
                    ast,
                    format!("{f}() takes {n} argument{}", if n == 1 { "" } else { "s" }),
                ))
            }
        };
        match f {
            "count" | "sum" | "any" | "all" => self.aggregate(ast, f, args),
            "present" => {
                arity(1)?;
                let (e, ty) = self.check(args.first().unwrap_or(ast))?;
                if matches!(ty, Ty::List(_) | Ty::Item(_)) {
                    return Err(err(ast, "present() takes a single value, not a list"));
                }
                Ok((Expr::Present(Box::new(e)), Ty::Bool))
            }
            "months" | "years" => {
                arity(2)?;
                let [a, b] = args else {
                    return Err(err(ast, "two dates expected"));
                };
                let a = self.want(a, Ty::Date, &format!("the first argument of {f}()"))?;
                let b = self.want(b, Ty::Date, &format!("the second argument of {f}()"))?;
                let e = if f == "months" {
                    Expr::Months(Box::new(a), Box::new(b))
                } else {
                    Expr::Years(Box::new(a), Box::new(b))
                };
                Ok((e, Ty::Int))
            }
            "min" | "max" => {
                arity(2)?;
                let [l, r] = args else {
                    return Err(err(ast, "two values expected"));
                };
                let (a, at) = self.check(l)?;
                let (b, bt) = self.operand_like(r, at)?;
                let ty = self
                    .unify(at, bt)
                    .filter(|t| matches!(t, Ty::Int | Ty::Dec | Ty::Date | Ty::Time));
                let ty = ty.ok_or_else(|| err(ast, format!("{f}() needs two numbers or two dates")))?;
                let e = if f == "min" {
                    Expr::Min(Box::new(a), Box::new(b))
                } else {
                    Expr::Max(Box::new(a), Box::new(b))
                };
                Ok((e, ty))
            }
            "date" => {
                arity(1)?;
                let arg = args.first().unwrap_or(ast);
                if let AstKind::Str(_) = arg.kind {
                    return self.operand_like(arg, Ty::Date);
                }
                let e = self.want(arg, Ty::Time, "the argument of date()")?;
                Ok((Expr::DateOf(Box::new(e)), Ty::Date))
            }
            _ => {
                let known = [
                    "count", "sum", "any", "all", "present", "months", "years", "min", "max", "date",
                ];
                let names: Vec<String> = known.iter().map(|s| (*s).to_owned()).collect();
                let hint = closest(f, &names)
                    .map(|n| format!(" (did you mean '{n}'?)"))
                    .unwrap_or_default();
                Err(err(
                    ast,
                    format!(
                        "unknown function '{f}'{hint}; functions are: {}",
                        known.join(", ")
                    ),
                ))
            }
        }
    }

    fn aggregate(&mut self, ast: &Ast, f: &str, args: &[Ast]) -> Checked {
        let Some(first) = args.first() else {
            return Err(err(ast, format!("{f}() needs a list as first argument")));
        };
        let (target, ty) = self.check(first)?;
        if f == "count" && ty == Ty::Facilities && args.len() == 1 {
            return Ok((Expr::FacilityCount(Box::new(target)), Ty::Int));
        }
        let Ty::List(list) = ty else {
            return Err(err(
                first,
                format!(
                    "{f}() needs a repeated input as first argument, found {}",
                    self.scope.describe(ty)
                ),
            ));
        };
        let item = self.scope.item_name(list);
        let body = match (f, args.get(1), args.len()) {
            ("count", None, 1) => return Ok((Expr::Count(list, None), Ty::Int)),
            (_, Some(body), 2) => body,
            _ => {
                return Err(err(
                    ast,
                    format!("{f}() takes a list and one expression about '{item}'"),
                ));
            }
        };
        if self.items.iter().any(|(n, _)| *n == item) {
            return Err(err(
                first,
                format!(
                    "'{item}' is already bound by an enclosing {f}(): lists cannot be nested in themselves"
                ),
            ));
        }
        self.items.push((item, list));
        let out = if f == "sum" {
            self.check(body).and_then(|(e, ty)| {
                if ty.is_number() {
                    Ok((Expr::Sum(list, Box::new(e)), ty))
                } else {
                    Err(err(
                        body,
                        format!("sum() adds numbers, found {}", self.scope.describe(ty)),
                    ))
                }
            })
        } else {
            self.want(body, Ty::Bool, &format!("the condition of {f}()"))
                .map(|e| match f {
                    "count" => (Expr::Count(list, Some(Box::new(e))), Ty::Int),
                    "any" => (Expr::Any(list, Box::new(e)), Ty::Bool),
                    _ => (Expr::All(list, Box::new(e)), Ty::Bool),
                })
        };
        self.items.pop();
        out
    }
}

/// The name closest to `name` within two edits, if any.
pub fn closest(name: &str, names: &[String]) -> Option<String> {
    names
        .iter()
        .map(|n| (edit_distance(name, n), n))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let value = (above + 1).min(left + 1).min(prev + cost);
            prev = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}
