//! Who may see and change which application. A family sees its own applications (its codice fiscale
//! is the applicant's); a front-desk operator those of the municipalities where they are an operator;
//! managers, auditors and administrators of the organisation that runs the call see that call's. Any
//! other application is "not found" (404), never "forbidden": its existence is not revealed.

use graduatorie_domain::{CodiceFiscale, OrganisationId, UserId};
use graduatorie_store::AnyConnection;
use graduatorie_store::applications::Application;
use graduatorie_store::calls::Call;
use graduatorie_store::orgs::{self, OrganisationKind, Role};

use super::body::ApplicationBody;
use crate::auth::Principal;
use crate::blocking;
use crate::problem::{Kind, Lang, Problem};

/// Who an application is submitted for, by whom, and which front desk may see it.
#[derive(Debug, Clone)]
pub struct Applicant {
    /// The applicant.
    pub owner: CodiceFiscale,
    /// The operator entering it, if any.
    pub by: Option<UserId>,
    /// The municipality whose front desk may see it.
    pub municipality: Option<OrganisationId>,
}

fn invalid(lang: Lang, pointer: &str, it: &str, en: &str) -> Problem {
    Problem::invalid_field(lang, pointer, it, en)
}

/// The applicant's codice fiscale: a family's own (it may not name another), or the one a front-desk
/// operator types.
pub fn applicant_cf(who: &Principal, b: &ApplicationBody, lang: Lang) -> Result<CodiceFiscale, Problem> {
    match who {
        Principal::Family { cf, .. } => match b.codice_fiscale {
            None => Ok(cf.clone()),
            Some(_) => Err(invalid(
                lang,
                "/codice_fiscale",
                "lo indica solo lo sportello: online il richiedente è chi ha effettuato l'accesso",
                "only the front desk gives it: online, the applicant is whoever logged in",
            )),
        },
        Principal::Staff { .. } => b
            .codice_fiscale
            .as_deref()
            .ok_or_else(|| {
                invalid(
                    lang,
                    "/codice_fiscale",
                    "obbligatorio allo sportello: il codice fiscale del richiedente",
                    "required at the front desk: the applicant's codice fiscale",
                )
            })
            .and_then(|cf| {
                CodiceFiscale::parse(cf).map_err(|e| Problem::invalid_cf(lang, "/codice_fiscale", &e))
            }),
    }
}

/// The municipalities a call is for: the organisation itself, or the members of a union.
pub fn call_municipalities(
    conn: &mut AnyConnection,
    call: &Call,
    lang: Lang,
) -> Result<Vec<OrganisationId>, Problem> {
    let org = orgs::get_organisation(conn, call.organisation).map_err(blocking::store(lang))?;
    Ok(match org.kind {
        OrganisationKind::Municipality => vec![org.id],
        OrganisationKind::Union => orgs::union_members(conn, org.id).map_err(blocking::store(lang))?,
    })
}

/// Works out the applicant of a new application.
pub fn applicant(
    conn: &mut AnyConnection,
    who: &Principal,
    call: &Call,
    b: &ApplicationBody,
    lang: Lang,
) -> Result<Applicant, Problem> {
    let towns = call_municipalities(conn, call, lang)?;
    let chosen = b.municipality.map(OrganisationId::new);
    match who {
        Principal::Family { .. } => {
            let owner = applicant_cf(who, b, lang)?;
            let municipality = match (towns.as_slice(), chosen) {
                ([only], None) => *only,
                (_, Some(m)) if towns.contains(&m) => m,
                (_, Some(_)) => {
                    return Err(invalid(
                        lang,
                        "/municipality",
                        "comune non compreso in questo bando",
                        "not a municipality of this call",
                    ));
                }
                (_, None) => {
                    return Err(invalid(
                        lang,
                        "/municipality",
                        "indicare il comune di residenza tra quelli del bando",
                        "give the municipality of residence, one of the call's",
                    ));
                }
            };
            Ok(Applicant {
                owner,
                by: None,
                municipality: Some(municipality),
            })
        }
        Principal::Staff { user, .. } => {
            let desks: Vec<OrganisationId> = who
                .orgs_with(Role::Operator)
                .into_iter()
                .filter(|o| towns.contains(o))
                .collect();
            let municipality = match (desks.as_slice(), chosen) {
                ([], _) => {
                    return Err(Problem::new(
                        Kind::Forbidden,
                        lang,
                        "Solo un operatore di sportello di un comune di questo bando può presentare domande per conto di una famiglia.",
                        "Only a front-desk operator of a municipality of this call can submit on a family's behalf.",
                    ));
                }
                ([only], None) => *only,
                (_, Some(m)) if desks.contains(&m) => m,
                _ => {
                    return Err(invalid(
                        lang,
                        "/municipality",
                        "indicare uno dei comuni in cui si opera come sportello",
                        "give one of the municipalities where you are a front-desk operator",
                    ));
                }
            };
            Ok(Applicant {
                owner: applicant_cf(who, b, lang)?,
                by: Some(*user),
                municipality: Some(municipality),
            })
        }
    }
}

/// What a caller may do with an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: answer 404.
    None,
    /// Read it (managers, auditors, administrators of the call's organisation).
    Read,
    /// Read, amend, withdraw, answer offers, object (the applicant; an operator of its municipality).
    Act,
}

/// The caller's access to an application of `call`.
pub fn access(who: &Principal, app: &Application, call: &Call) -> Access {
    match who {
        Principal::Family { cf, .. } => {
            if app.owner.as_deref() == Some(cf.as_str()) {
                Access::Act
            } else {
                Access::None
            }
        }
        Principal::Staff { roles, .. } => {
            let operator = app
                .municipality
                .is_some_and(|m| roles.contains(&(m, Role::Operator)));
            if operator {
                return Access::Act;
            }
            let reader = roles.iter().any(|(o, r)| {
                *o == call.organisation && matches!(r, Role::Manager | Role::Auditor | Role::Admin)
            });
            if reader { Access::Read } else { Access::None }
        }
    }
}

/// The actor recorded for an act (`None` = the family online).
pub fn acting_user(who: &Principal) -> Option<UserId> {
    match who {
        Principal::Family { .. } => None,
        Principal::Staff { user, .. } => Some(*user),
    }
}
