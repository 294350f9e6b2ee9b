//! User accounts: validated profiles, Argon2id passwords, sealed TOTP secrets, and login
//! throttling that never reveals whether a username exists.

mod accounts;
mod error;
mod login;
mod password;
mod throttle;
mod totp;
mod validate;

pub use accounts::{Accounts, NewUser, UserChanges};
pub use error::{LoginError, UserError};
pub use login::Authenticated;
pub use password::{
    Argon2Settings, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, Password, Passwords, Verified,
    hash_password, verify_password,
};
pub use throttle::{LoginGuard, LoginPermit, RetryAfter, ThrottlePolicy};
pub use totp::{TotpSecret, hotp, step_of, verify_totp};
pub use validate::{display_name, email, new_user_id, username_key};
