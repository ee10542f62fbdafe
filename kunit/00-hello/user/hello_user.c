// SPDX-License-Identifier: GPL-2.0
/*
 * hello_user - what user space sees of kmemlab_hello: its parameter under
 * /sys/module, readable by everyone.
 *
 *	hello_user		the module was loaded with greeting=penguin
 *	hello_user default	the module was loaded without greeting=
 *
 * Reports in KTAP, as suite hello_user or hello_user_default; exits 0 when
 * every check passed.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ktap_user.h"

#define PARAM "/sys/module/kmemlab_hello/parameters/greeting"

/* Does PARAM read @want (one line)? */
static void expect_param(const char *want)
{
	char buf[64] = "";
	FILE *f;

	f = fopen(PARAM, "r");
	KTAP_EXPECT(f && fgets(buf, sizeof(buf), f), "cannot read %s: %s", PARAM, strerror(errno));
	buf[strcspn(buf, "\n")] = '\0';
	KTAP_EXPECT(strcmp(buf, want) == 0, "%s reads \"%.20s\", want \"%s\"", PARAM, buf, want);
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	struct stat st;

	if (argc > 1 && strcmp(argv[1], "default") == 0) {
		ktap_begin("hello_user_default", 1);
		if (ktap_case("parameter_defaults_to_world")) {
			expect_param("world");
			ktap_case_end();
		}
		return ktap_end();
	}

	ktap_begin("hello_user", 2);

	if (ktap_case("parameter_is_world_readable")) {
		if (stat(PARAM, &st) != 0)
			KTAP_EXPECT(0, "%s: %s (is the parameter declared?)", PARAM, strerror(errno));
		else
			KTAP_EXPECT((st.st_mode & 0777) == 0444, "%s has mode %o, want 0444", PARAM,
				    st.st_mode & 0777);
		ktap_case_end();
	}

	if (ktap_case("parameter_holds_insmod_value")) {
		expect_param("penguin");
		ktap_case_end();
	}

	return ktap_end();
}
