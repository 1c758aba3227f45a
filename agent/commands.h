/* commands — the cwagent subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand name) and returns the process exit status:
 * 0 ok, 1 runtime failure, 2 usage or configuration error. */
#ifndef CW_COMMANDS_H
#define CW_COMMANDS_H

int cmd_version(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_collect(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_fetch_config(int argc, char **argv);
int cmd_alarms(int argc, char **argv);
int cmd_dashboard(int argc, char **argv);
int cmd_cost(int argc, char **argv);

#endif
