//! Roles and what each may do in the admin area.

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Reports only.
    Viewer,
}

impl Role {
    /// Returns the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }
}

/// Something only some roles may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read the campaign report.
    ViewReports,
    /// Everything else: the do-not-contact list, the message log, broadcasts, and every page
    /// that shows patients' numbers.
    Administer,
}

impl Role {
    /// Tells whether this role may do `what`: the one rule of who may do what.
    pub fn may(self, what: Permission) -> bool {
        match (self, what) {
            (Self::Admin, _) => true,
            (Self::Viewer, Permission::ViewReports) => true,
            (Self::Viewer, Permission::Administer) => false,
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "admin" => Ok(Self::Admin),
            "viewer" => Ok(Self::Viewer),
            other => Err(format!("unknown role {other:?} (admin or viewer)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_reads_reports_and_nothing_else() {
        assert!(Role::Viewer.may(Permission::ViewReports));
        assert!(!Role::Viewer.may(Permission::Administer));
        assert!(Role::Admin.may(Permission::Administer));
        assert_eq!("viewer".parse::<Role>(), Ok(Role::Viewer));
        assert!("root".parse::<Role>().is_err());
    }
}
