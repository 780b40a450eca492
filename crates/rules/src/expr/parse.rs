//! Lexer and parser of the condition language: text → syntax tree with positions.
//!
//! The grammar is small on purpose (see `docs/rules.md`): literals, names, `a.b` fields, arithmetic,
//! comparisons, `and`/`or`/`not`, `??` for defaults, `if … then … else …`, lists `[a, b]` and calls of a
//! fixed set of functions. There are no loops, no assignments and no user functions, so every expression
//! finishes in time proportional to its size times the length of the lists it counts over. Length and
//! nesting are bounded so that no input can exhaust the stack.

use std::str::FromStr;

use rust_decimal::Decimal;

/// Longest accepted expression, in bytes.
pub const MAX_LEN: usize = 4096;
/// Deepest accepted nesting of parentheses, operators and calls.
pub const MAX_DEPTH: usize = 48;

/// A syntax-tree node with its byte range inside the expression text.
#[derive(Debug, Clone, PartialEq)]
pub struct Ast {
    /// What the node is.
    pub kind: AstKind,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset after the last character.
    pub end: usize,
}

/// Node kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum AstKind {
    /// `3`
    Int(i64),
    /// `3.50`
    Dec(Decimal),
    /// `'employed'`
    Str(String),
    /// `true`, `false`
    Bool(bool),
    /// `isee`
    Name(String),
    /// `parent.work`
    Field(Box<Ast>, String),
    /// `not a`, `-a`
    Unary(UnOp, Box<Ast>),
    /// `a + b`, `a and b`, `a ?? b`, `a in b`
    Binary(BinOp, Box<Ast>, Box<Ast>),
    /// `count(parents, parent.work == 'employed')`
    Call(String, Vec<Ast>),
    /// `if c then a else b`
    If(Box<Ast>, Box<Ast>, Box<Ast>),
    /// `['a', 'b']`
    List(Vec<Ast>),
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `not`
    Not,
    /// `-`
    Neg,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `??`
    Coalesce,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::Coalesce => "??",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
}

/// A syntax error with its byte range inside the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset where the problem starts.
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Int(i64),
    Dec(Decimal),
    Str(String),
    Ident(String),
    Op(&'static str),
    End,
}

struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

const OPERATORS: [&str; 17] = [
    "==", "!=", "<=", ">=", "??", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", ".",
];

fn lex(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |start: usize, end: usize, message: &str| SyntaxError {
        start,
        end,
        message: message.to_owned(),
    };
    while let Some(&b) = bytes.get(i) {
        let start = i;
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b.is_ascii_digit() {
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let is_dec = bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            if is_dec {
                i += 1;
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            let text = src.get(start..i).unwrap_or("");
            let tok = if is_dec {
                Decimal::from_str(text)
                    .map(Tok::Dec)
                    .map_err(|_| err(start, i, "number too long"))?
            } else {
                text.parse()
                    .map(Tok::Int)
                    .map_err(|_| err(start, i, "whole number too large"))?
            };
            out.push(Token { tok, start, end: i });
        } else if b.is_ascii_alphabetic() || b == b'_' {
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            let text = src.get(start..i).unwrap_or("").to_owned();
            out.push(Token {
                tok: Tok::Ident(text),
                start,
                end: i,
            });
        } else if b == b'\'' || b == b'"' {
            let close = src
                .get(i + 1..)
                .and_then(|rest| rest.find(char::from(b)))
                .ok_or_else(|| err(start, src.len(), "text not closed: a quote is missing"))?;
            let text = src.get(i + 1..i + 1 + close).unwrap_or("").to_owned();
            i += close + 2;
            out.push(Token {
                tok: Tok::Str(text),
                start,
                end: i,
            });
        } else if let Some(op) = OPERATORS
            .iter()
            .find(|op| src.get(i..).is_some_and(|r| r.starts_with(**op)))
        {
            i += op.len();
            out.push(Token {
                tok: Tok::Op(op),
                start,
                end: i,
            });
        } else {
            let len = src
                .get(i..)
                .and_then(|r| r.chars().next())
                .map_or(1, char::len_utf8);
            let hint = match b {
                b'=' => "unexpected '=': to compare write '=='",
                b'&' | b'|' => "unexpected symbol: write 'and' / 'or'",
                b'!' => "unexpected '!': write 'not' or '!='",
                _ => "unexpected character",
            };
            return Err(err(start, start + len, hint));
        }
    }
    out.push(Token {
        tok: Tok::End,
        start: src.len(),
        end: src.len(),
    });
    Ok(out)
}

/// Parses an expression.
pub fn parse(src: &str) -> Result<Ast, SyntaxError> {
    if src.len() > MAX_LEN {
        return Err(SyntaxError {
            start: 0,
            end: src.len(),
            message: format!("expression longer than {MAX_LEN} characters"),
        });
    }
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let ast = p.expr()?;
    let t = p.peek();
    if t.tok != Tok::End {
        return Err(SyntaxError {
            start: t.start,
            end: t.end,
            message: "unexpected text after the end of the expression".to_owned(),
        });
    }
    Ok(ast)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

const KEYWORDS: [&str; 9] = ["and", "or", "not", "if", "then", "else", "in", "true", "false"];

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, and `pos` never moves past it.
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .unwrap_or(&END)
    }
    fn bump(&mut self) -> &Token {
        let i = self.pos;
        if i + 1 < self.tokens.len() {
            self.pos += 1;
        }
        self.tokens.get(i).unwrap_or(&END)
    }
    fn at_op(&self, op: &str) -> bool {
        matches!(&self.peek().tok, Tok::Op(o) if *o == op)
    }
    fn at_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(s) if s == kw)
    }
    fn error<T>(&self, message: impl Into<String>) -> Result<T, SyntaxError> {
        let t = self.peek();
        Err(SyntaxError {
            start: t.start,
            end: t.end.max(t.start + 1),
            message: message.into(),
        })
    }
    fn expect_op(&mut self, op: &str, what: &str) -> Result<usize, SyntaxError> {
        if self.at_op(op) {
            Ok(self.bump().end)
        } else {
            self.error(format!("expected '{op}' {what}"))
        }
    }
    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.error(format!("expression nested more than {MAX_DEPTH} levels deep"))
        } else {
            Ok(())
        }
    }

    fn expr(&mut self) -> Result<Ast, SyntaxError> {
        self.enter()?;
        let out = if self.at_kw("if") {
            let start = self.bump().start;
            let cond = self.expr()?;
            if !self.at_kw("then") {
                return self.error("expected 'then' after the condition of 'if'");
            }
            self.bump();
            let yes = self.expr()?;
            if !self.at_kw("else") {
                return self.error("expected 'else': every 'if' needs an 'else'");
            }
            self.bump();
            let no = self.expr()?;
            let end = no.end;
            Ast {
                kind: AstKind::If(Box::new(cond), Box::new(yes), Box::new(no)),
                start,
                end,
            }
        } else {
            self.or()?
        };
        self.depth -= 1;
        Ok(out)
    }

    fn binary_chain(
        &mut self,
        next: fn(&mut Self) -> Result<Ast, SyntaxError>,
        ops: &[(&str, BinOp)],
    ) -> Result<Ast, SyntaxError> {
        let mut left = next(self)?;
        // Each link of a chain deepens the (left-leaning) tree, so it counts towards the depth bound.
        let mut links = 0;
        loop {
            let found = ops.iter().find(|(text, _)| match &self.peek().tok {
                Tok::Op(o) => o == text,
                Tok::Ident(s) => s == text,
                _ => false,
            });
            let Some(&(_, op)) = found else {
                self.depth -= links;
                return Ok(left);
            };
            self.bump();
            self.enter()?;
            links += 1;
            let right = next(self)?;
            let (start, end) = (left.start, right.end);
            left = Ast {
                kind: AstKind::Binary(op, Box::new(left), Box::new(right)),
                start,
                end,
            };
        }
    }

    fn or(&mut self) -> Result<Ast, SyntaxError> {
        self.binary_chain(Self::and, &[("or", BinOp::Or)])
    }
    fn and(&mut self) -> Result<Ast, SyntaxError> {
        self.binary_chain(Self::not, &[("and", BinOp::And)])
    }
    fn not(&mut self) -> Result<Ast, SyntaxError> {
        if self.at_kw("not") {
            let start = self.bump().start;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            let end = inner.end;
            return Ok(Ast {
                kind: AstKind::Unary(UnOp::Not, Box::new(inner)),
                start,
                end,
            });
        }
        self.comparison()
    }
    fn comparison(&mut self) -> Result<Ast, SyntaxError> {
        const OPS: [(&str, BinOp); 7] = [
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
            ("in", BinOp::In),
        ];
        let left = self.coalesce()?;
        let Some(&(_, op)) = OPS.iter().find(|(t, _)| self.at_op(t) || self.at_kw(t)) else {
            return Ok(left);
        };
        self.bump();
        let right = self.coalesce()?;
        if OPS.iter().any(|(t, _)| self.at_op(t) || self.at_kw(t)) {
            return self.error("comparisons cannot be chained: write 'a < b and b < c'");
        }
        let (start, end) = (left.start, right.end);
        Ok(Ast {
            kind: AstKind::Binary(op, Box::new(left), Box::new(right)),
            start,
            end,
        })
    }
    fn coalesce(&mut self) -> Result<Ast, SyntaxError> {
        self.binary_chain(Self::additive, &[("??", BinOp::Coalesce)])
    }
    fn additive(&mut self) -> Result<Ast, SyntaxError> {
        self.binary_chain(Self::multiplicative, &[("+", BinOp::Add), ("-", BinOp::Sub)])
    }
    fn multiplicative(&mut self) -> Result<Ast, SyntaxError> {
        self.binary_chain(Self::unary, &[("*", BinOp::Mul), ("/", BinOp::Div)])
    }
    fn unary(&mut self) -> Result<Ast, SyntaxError> {
        if self.at_op("-") {
            let start = self.bump().start;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            let end = inner.end;
            return Ok(Ast {
                kind: AstKind::Unary(UnOp::Neg, Box::new(inner)),
                start,
                end,
            });
        }
        self.postfix()
    }
    fn postfix(&mut self) -> Result<Ast, SyntaxError> {
        let mut node = self.primary()?;
        while self.at_op(".") {
            self.bump();
            let t = self.bump();
            let (name, end) = match &t.tok {
                Tok::Ident(s) => (s.clone(), t.end),
                _ => {
                    let (start, end) = (t.start, t.end);
                    return Err(SyntaxError {
                        start,
                        end,
                        message: "expected a field name after '.'".to_owned(),
                    });
                }
            };
            let start = node.start;
            node = Ast {
                kind: AstKind::Field(Box::new(node), name),
                start,
                end,
            };
        }
        Ok(node)
    }
    fn primary(&mut self) -> Result<Ast, SyntaxError> {
        let t = self.bump();
        let (start, end) = (t.start, t.end);
        let kind = match t.tok.clone() {
            Tok::Int(n) => AstKind::Int(n),
            Tok::Dec(d) => AstKind::Dec(d),
            Tok::Str(s) => AstKind::Str(s),
            Tok::Ident(s) if s == "true" => AstKind::Bool(true),
            Tok::Ident(s) if s == "false" => AstKind::Bool(false),
            Tok::Ident(s) if KEYWORDS.contains(&s.as_str()) => {
                self.pos -= 1;
                return self.error(format!("'{s}' is a keyword and cannot stand here"));
            }
            Tok::Ident(name) => {
                if self.at_op("(") {
                    self.bump();
                    self.enter()?;
                    let args = self.list_items(")")?;
                    self.depth -= 1;
                    let end = self.expect_op(")", "to close the function's arguments")?;
                    return Ok(Ast {
                        kind: AstKind::Call(name, args),
                        start,
                        end,
                    });
                }
                AstKind::Name(name)
            }
            Tok::Op("(") => {
                self.enter()?;
                let inner = self.expr()?;
                self.depth -= 1;
                let end = self.expect_op(")", "to close '('")?;
                return Ok(Ast { end, start, ..inner });
            }
            Tok::Op("[") => {
                self.enter()?;
                let items = self.list_items("]")?;
                self.depth -= 1;
                let end = self.expect_op("]", "to close the list")?;
                return Ok(Ast {
                    kind: AstKind::List(items),
                    start,
                    end,
                });
            }
            Tok::End => {
                self.pos = self.tokens.len().saturating_sub(1);
                return self.error("expression ends too early");
            }
            Tok::Op(op) => {
                self.pos -= 1;
                return self.error(format!("unexpected '{op}'"));
            }
        };
        Ok(Ast { kind, start, end })
    }
    fn list_items(&mut self, close: &str) -> Result<Vec<Ast>, SyntaxError> {
        let mut items = Vec::new();
        if self.at_op(close) {
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.at_op(",") {
                self.bump();
            } else {
                return Ok(items);
            }
        }
    }
}

static END: Token = Token {
    tok: Tok::End,
    start: 0,
    end: 0,
};

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn show(a: &Ast) -> String {
        match &a.kind {
            AstKind::Int(n) => n.to_string(),
            AstKind::Dec(d) => d.to_string(),
            AstKind::Str(s) => format!("'{s}'"),
            AstKind::Bool(b) => b.to_string(),
            AstKind::Name(n) => n.clone(),
            AstKind::Field(x, f) => format!("{}.{f}", show(x)),
            AstKind::Unary(UnOp::Not, x) => format!("(not {})", show(x)),
            AstKind::Unary(UnOp::Neg, x) => format!("(-{})", show(x)),
            AstKind::Binary(op, l, r) => format!("({} {} {})", show(l), op.symbol(), show(r)),
            AstKind::Call(f, args) => {
                format!("{f}({})", args.iter().map(show).collect::<Vec<_>>().join(", "))
            }
            AstKind::If(c, y, n) => format!("(if {} then {} else {})", show(c), show(y), show(n)),
            AstKind::List(xs) => format!("[{}]", xs.iter().map(show).collect::<Vec<_>>().join(", ")),
        }
    }

    #[test]
    fn precedence() {
        let a = parse("not a and b or c == 1 + 2 * 3").unwrap();
        assert_eq!(show(&a), "(((not a) and b) or (c == (1 + (2 * 3))))");
        let a = parse("isee ?? 99999 <= 50000.00").unwrap();
        assert_eq!(show(&a), "((isee ?? 99999) <= 50000.00)");
        let a = parse("count(parents, parent.work in ['a', \"b\"]) >= 2").unwrap();
        assert_eq!(show(&a), "(count(parents, (parent.work in ['a', 'b'])) >= 2)");
        let a = parse("if x then 1 else if y then 2 else 3").unwrap();
        assert_eq!(show(&a), "(if x then 1 else (if y then 2 else 3))");
    }

    #[test]
    fn positions_point_at_the_problem() {
        let e = parse("a = 1").unwrap_err();
        assert_eq!(
            (e.start, e.message.as_str()),
            (2, "unexpected '=': to compare write '=='")
        );
        let e = parse("a < b < c").unwrap_err();
        assert_eq!(e.start, 6);
        let e = parse("(a and b").unwrap_err();
        assert_eq!(e.message, "expected ')' to close '('");
        let e = parse("if a then b").unwrap_err();
        assert!(e.message.contains("else"));
        let e = parse("'open").unwrap_err();
        assert!(e.message.contains("quote"));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&deep).is_err());
        let deep = "not ".repeat(1000) + "a";
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
        let deep = "-".repeat(1000) + "1";
        assert!(parse(&deep).is_err());
        let long = vec!["1"; 1000].join(" + ");
        assert!(parse(&long).unwrap_err().message.contains("nested"));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }
        #[test]
        fn never_panics_on_expression_like_text(s in "[a-z0-9_ ().,'\\[\\]<>=!?+*/-]{0,120}") {
            let _ = parse(&s);
        }
    }
}
