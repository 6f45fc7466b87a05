"""icos_vitest_tests: one sh_test per vitest file, so `bazel test //...` runs the TypeScript suites."""

def icos_vitest_tests(name, srcs, data, tags = []):
    """Creates `<file>_test` per test file and a test_suite `name` of them all.

    Args:
      name: the test_suite.
      srcs: the *.test.ts files.
      data: files a change of which re-runs the tests (sources, configs).
      tags: added to every test; `local` is always set (root, loop devices, Docker, host tools).
    """
    tests = []
    for src in srcs:
        test_name = src.replace("/", "_").replace(".test.ts", "") + "_test"
        native.sh_test(
            name = test_name,
            srcs = ["//bazel/private:vitest_test.sh"],
            args = [src],
            data = [src, "//:package.json"] + [file for file in data if file != src],
            tags = ["local"] + tags,
            size = "large",
        )
        tests.append(test_name)
    native.test_suite(name = name, tests = tests, tags = tags)
