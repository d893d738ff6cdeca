//! Who is in the demo: the demo user, the people and role addresses that write to them, and the
//! companies they work at — once, for the mailbox, the tracker traffic and the Superdata sources
//! alike, so a person's address, name and profile cannot disagree between them.
//!
//! Everyone lives at reserved names (`*.test`, `example.com`/`.org`), and the same people recur
//! across threads: Acme (a customer), Globex (a vendor) and Initech (the user's employer).

/// Someone who sends or receives demo mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Person {
    pub name: &'static str,
    pub email: &'static str,
    /// What the demo's Gravatar source answers for them; `None` gets Gravatar's 404, as most real
    /// people do.
    pub profile: Option<Profile>,
}

/// A demo person's public profile, as a Gravatar profile states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub job_title: &'static str,
    pub location: &'static str,
}

/// A demo company, with what its homepage, RDAP record and MX record say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Company {
    pub domain: &'static str,
    pub name: &'static str,
    /// A year, also the domain's registration date.
    pub founded: &'static str,
    pub employees: &'static str,
    pub mx_host: &'static str,
    pub registrar: &'static str,
}

impl Person {
    /// Someone with no public profile.
    pub const fn new(name: &'static str, email: &'static str) -> Person {
        Person {
            name,
            email,
            profile: None,
        }
    }

    const fn with_profile(
        name: &'static str,
        email: &'static str,
        job_title: &'static str,
        location: &'static str,
    ) -> Person {
        Person {
            name,
            email,
            profile: Some(Profile {
                job_title,
                location,
            }),
        }
    }

    /// The part of the address after `@`.
    pub fn domain(&self) -> &'static str {
        self.email.rsplit('@').next().unwrap_or("example.com")
    }

    /// The demo company at the person's domain; `None` for free mail and everyone else.
    pub fn company(&self) -> Option<&'static Company> {
        company(self.domain())
    }
}

/// The demo company at `domain`.
pub fn company(domain: &str) -> Option<&'static Company> {
    DEMO_COMPANIES.iter().find(|c| c.domain == domain)
}

/// The demo user, whose mailbox the demo is.
pub const ME: Person = Person::new("Alex Morgan", "alex@initech.test");

// Acme: a customer.
pub const DANA: Person =
    Person::with_profile("Dana Lee", "dana.lee@acme.test", "CTO", "Springfield");
pub const MARCUS: Person = Person::with_profile(
    "Marcus Chen",
    "marcus@acme.test",
    "Head of Sales",
    "Shelbyville",
);
pub const PRIYA: Person = Person::new("Priya Natarajan", "priya@acme.test");
// Globex: a vendor.
pub const HANK: Person =
    Person::with_profile("Hank Scorpio", "hank@globex.test", "CEO", "Cypress Creek");
pub const LENA: Person = Person::with_profile(
    "Lena Ortiz",
    "lena.ortiz@globex.test",
    "Account Manager",
    "Cypress Creek",
);
// Initech: the user's own company.
pub const BILL: Person = Person::new("Bill Lumbergh", "bill@initech.test");
pub const PETER: Person = Person::with_profile(
    "Peter Gibbons",
    "peter@initech.test",
    "Software Engineer",
    "Austin",
);
pub const SAMIR: Person = Person::new("Samir Nagheenanajar", "samir@initech.test");
pub const JOANNA: Person = Person::new("Joanna Park", "joanna@initech.test");
// Elsewhere.
pub const SAM: Person = Person::new("Sam Rivera", "sam.rivera@example.org");

/// Everyone who writes to the demo user as a person, in the order the mailbox picks from.
pub const DEMO_PEOPLE: &[Person] = &[
    DANA, MARCUS, PRIYA, HANK, LENA, BILL, PETER, SAMIR, JOANNA, SAM,
];

// Role addresses and lists: they write too, but are nobody's contact card.
pub const GLOBEX_BILLING: Person = Person::new("Globex Billing", "billing@globex.test");
pub const GLOBEX_NEWS: Person = Person::new("Globex Product News", "news@globex.test");
pub const INITECH_CI: Person = Person::new("Initech CI", "ci@initech.test");
pub const TERMINAL_WEEKLY: Person = Person::new(
    "This Week in Terminals",
    "editor@terminal-weekly.example.com",
);

pub const ACME: Company = Company {
    domain: "acme.test",
    name: "Acme Corporation",
    founded: "1949",
    employees: "250",
    mx_host: "aspmx.l.google.com",
    registrar: "Demo Registrar Inc.",
};
pub const GLOBEX: Company = Company {
    domain: "globex.test",
    name: "Globex Corporation",
    founded: "1996",
    employees: "1200",
    mx_host: "globex-test.mail.protection.outlook.com",
    registrar: "Demo Registrar Inc.",
};
pub const INITECH: Company = Company {
    domain: "initech.test",
    name: "Initech",
    founded: "1989",
    employees: "80",
    mx_host: "mx.initech.test",
    registrar: "Another Demo Registrar",
};

pub const DEMO_COMPANIES: &[Company] = &[ACME, GLOBEX, INITECH];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_people_work_at_demo_companies_or_use_free_mail() {
        for person in DEMO_PEOPLE {
            assert!(
                person.company().is_some() || person.domain() == "example.org",
                "{}",
                person.email
            );
        }
    }

    #[test]
    fn everyone_with_a_profile_works_at_a_demo_company() {
        // The Gravatar answer names the person's company; a profile without one would say "".
        for person in DEMO_PEOPLE.iter().filter(|p| p.profile.is_some()) {
            assert!(person.company().is_some(), "{}", person.email);
        }
    }

    #[test]
    fn no_two_people_share_an_address() {
        let mut all: Vec<&str> = DEMO_PEOPLE
            .iter()
            .chain(&[ME, GLOBEX_BILLING, GLOBEX_NEWS, INITECH_CI, TERMINAL_WEEKLY])
            .map(|p| p.email)
            .collect();
        all.sort();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
