//! Types every graduatorie crate shares, each parsed at the edge of the system and impossible to hold
//! in an invalid state: a [`CodiceFiscale`] has a correct check character, a [`Money`] amount is exact to
//! the cent, an [`Isee`] knows until when it is valid.
//!
//! Values that are personal data (codice fiscale, ISEE) print as `***` in `Debug` output and their
//! parse errors never repeat the input, so a log line cannot leak them by accident.

pub mod age;
pub mod codice_fiscale;
pub mod digits;
pub mod ids;
pub mod isee;
pub mod money;
pub mod municipality;

pub use age::{months_between, years_between};
pub use codice_fiscale::{CodiceFiscale, CodiceFiscaleError, Sex};
pub use ids::{
    ApplicationId, CallId, DraftId, FacilityCode, ObjectionId, OfferId, OrganisationId, ProtocolNumber,
    RankingId, ServiceId, UserId,
};
pub use isee::{DsuProtocol, Isee, IseeError, IseeKind};
pub use jiff::civil::Date;
pub use money::{Money, MoneyError};
pub use municipality::{IstatCode, IstatCodeError};
