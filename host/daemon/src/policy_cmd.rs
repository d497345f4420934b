//! `tessera policy list|delete|disable`: offline repair of the policies, for example after an admin
//! policy locked every administrator out (privacyIDEA's `pi-manage policy`). The server must be stopped.

use clap::Subcommand;

use crate::Common;
use crate::admin::{block_on, pi};
use crate::serve::open;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// List the policies, one a line: name, scope, active, actions (tab separated).
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Delete a policy.
    Delete {
        name: String,
        #[command(flatten)]
        common: Common,
    },
    /// Deactivate a policy (it stays, and can be enabled again through the API).
    Disable {
        name: String,
        #[command(flatten)]
        common: Common,
    },
}

pub fn run(command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::List { common } => {
            let opened = open(&common.load(None, None)?, false)?;
            for p in opened.core.policy_set().policies() {
                println!(
                    "{}\t{}\t{}\t{}",
                    p.name,
                    p.scope,
                    p.active,
                    p.action_string()
                );
            }
        }
        PolicyCommand::Delete { name, common } => {
            let opened = open(&common.load(None, None)?, false)?;
            block_on(opened.core.delete_policy(&name))?.map_err(pi)?;
            println!("policy '{name}' deleted");
        }
        PolicyCommand::Disable { name, common } => {
            let opened = open(&common.load(None, None)?, false)?;
            block_on(opened.core.activate_policy(&name, false))?.map_err(pi)?;
            println!("policy '{name}' disabled");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::Parser;

    use super::*;
    use crate::{Cli, Command};

    #[test]
    fn the_documented_invocations_parse() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).unwrap().command;
        let cmd = parse(&["tessera", "policy", "delete", "admins", "--data-dir", "/d"]);
        let Command::Policy(PolicyCommand::Delete { name, common }) = cmd else {
            panic!("{cmd:?}")
        };
        assert_eq!(
            (name.as_str(), common.data_dir),
            ("admins", Some(PathBuf::from("/d")))
        );
        assert!(matches!(
            parse(&["tessera", "policy", "disable", "admins"]),
            Command::Policy(PolicyCommand::Disable { .. })
        ));
        assert!(matches!(
            parse(&["tessera", "policy", "list", "--data-dir", "/d"]),
            Command::Policy(PolicyCommand::List { .. })
        ));
        assert!(Cli::try_parse_from(["tessera", "policy", "delete"]).is_err());
    }
}
