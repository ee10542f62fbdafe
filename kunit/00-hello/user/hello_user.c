// SPDX-License-Identifier: GPL-2.0
/*
 * hello_user - what user space sees of kmemlab_hello: its parameter under
 * /sys/module, readable by everyone.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ktap_user.h"

#define PARAM "/sys/module/kmemlab_hello/parameters/greeting"

int main(void)
{
	char buf[64] = "";
	struct stat st;
	FILE *f;

	ktap_begin("hello_user", 2);

	ktap_case("parameter_is_world_readable");
	if (stat(PARAM, &st) != 0)
		KTAP_EXPECT(0, "%s: %s (is the parameter declared?)", PARAM, strerror(errno));
	else
		KTAP_EXPECT((st.st_mode & 0777) == 0444, "%s has mode %o, want 0444", PARAM,
			    st.st_mode & 0777);
	ktap_case_end();

	ktap_case("parameter_holds_insmod_value");
	f = fopen(PARAM, "r");
	KTAP_EXPECT(f && fgets(buf, sizeof(buf), f), "cannot read %s: %s", PARAM, strerror(errno));
	KTAP_EXPECT(strcmp(buf, "penguin\n") == 0, "%s reads \"%.20s\", want \"penguin\"", PARAM, buf);
	if (f)
		fclose(f);
	ktap_case_end();

	return ktap_end();
}
