/* test_names.c -- class names: what a name may be, the order that numbers a label file's
 * names, a model's table through save, load, a trainer's checkpoint and back, the lookup
 * of a class by name or number, and model files whose class_names are hostile. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "model-impl.h"
#include "modelfile.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */
static char tmpdir[64];

static const char *tp(const char *name)
{
    static char bufs[4][320];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%.200s", tmpdir, name);
    return b;
}

static void test_name_rules(void)
{
    static const char *good[] = {"s1", "sneaker", "ankle boot", "T-shirt/top", "caf\xc3\xa9", "-1", "1.5", "all", "0x"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(pcnn_name_problem(good[i], strlen(good[i])) == NULL, "'%s' refused: %s", good[i],
              pcnn_name_problem(good[i], strlen(good[i])));
    static const struct {
        const char *name, *why;
    } bad[] = {{"", "empty"}, {"42", "digits"}, {"007", "digits"}, {"a\tb", "control"}, {"a\x7f", "control"},
               {"\xc3", "UTF-8"}, {"\xff" "a", "UTF-8"}, {" a", "space"}, {"a ", "space"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *why = pcnn_name_problem(bad[i].name, strlen(bad[i].name));
        CHECK(why && strstr(why, bad[i].why), "name %zu: '%s' (wanted '%s')", i, why ? why : "accepted", bad[i].why);
    }
    char longest[PCNN_MAX_NAME + 2];
    memset(longest, 'x', sizeof longest);
    CHECK(pcnn_name_problem(longest, PCNN_MAX_NAME) == NULL, "a name of %d bytes refused", PCNN_MAX_NAME);
    const char *why = pcnn_name_problem(longest, PCNN_MAX_NAME + 1);
    CHECK(why && strstr(why, "65 bytes long, more than 64"), "a name of 65 bytes: %s", why ? why : "accepted");
}

static void test_order(void)
{
    /* each before the next */
    static const char *sorted[] = {"1a", "A", "B", "a", "a1", "a01b", "a1b", "a2", "a10", "a010x", "b", "s01", "s1",
                                   "s1", "s2", "s9", "s10", "s99999999999999999999", "s100000000000000000000",
                                   "z", "\xc3\xa9"};
    for (size_t i = 0; i + 1 < sizeof sorted / sizeof *sorted; i++) {
        int c = pcnn_name_cmp(sorted[i], sorted[i + 1]), r = pcnn_name_cmp(sorted[i + 1], sorted[i]);
        int same = !strcmp(sorted[i], sorted[i + 1]);
        CHECK(same ? c == 0 && r == 0 : c < 0 && r > 0, "'%s' vs '%s': %d, %d", sorted[i], sorted[i + 1], c, r);
    }
    /* a total order: every pair agrees with the list's order */
    int n = (int)(sizeof sorted / sizeof *sorted), bad = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int c = pcnn_name_cmp(sorted[i], sorted[j]), want = strcmp(sorted[i], sorted[j]) ? (i < j ? -1 : 1) : 0;
            bad += (c > 0) - (c < 0) != want;
        }
    CHECK(bad == 0, "%d pairs out of order", bad);
}

static void test_table(void)
{
    static const char *three[] = {"boot", "s2", "s10"};
    char **copy = pcnn_names_copy(three, 3);
    CHECK(copy && !strcmp(copy[2], "s10") && copy[0] != three[0], "copy: %s", pcnn_errstr());
    char *joined = copy ? pcnn_names_join((const char *const *)copy, 3) : NULL;
    CHECK(joined && !strcmp(joined, "boot\ns2\ns10"), "joined: '%s'", joined ? joined : pcnn_errstr());
    char **back = joined ? pcnn_names_split(joined, 3) : NULL;
    CHECK(back && !strcmp(back[0], "boot") && !strcmp(back[1], "s2") && !strcmp(back[2], "s10"), "split: %s",
          pcnn_errstr());
    CHECK(pcnn_names_split("a\nb", 3) == NULL && strstr(pcnn_errstr(), "2 class names for 3 classes"), "%s",
          pcnn_errstr());
    CHECK(pcnn_names_split("a\nb\na", 3) == NULL && strstr(pcnn_errstr(), "'a' appears twice"), "%s", pcnn_errstr());
    CHECK(pcnn_names_split("a\n\nb", 3) == NULL && strstr(pcnn_errstr(), "empty"), "%s", pcnn_errstr());
    CHECK(pcnn_names_split("a\n7\nb", 3) == NULL && strstr(pcnn_errstr(), "digits"), "%s", pcnn_errstr());
    free(copy), free(joined), free(back);
}

/* a model of 3 classes with names, saved, loaded, checkpointed with a trainer and loaded
 * again; the names and the lookups survive each */
static void test_model(void)
{
    pcnn_hparams hp = {.L = 1, .p = 4, .n = 3, .C = 1, .H = 4, .W = 4, .K = 4, .D = 3, .classes = 3};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 1);
    CHECK(m != NULL, "model: %s", pcnn_errstr());
    if (!m) return;
    CHECK(pcnn_model_class_names(m) == NULL, "a new model has names");
    CHECK(pcnn_model_class(m, "2") == 2 && pcnn_model_class(m, "002") == 2, "class by number");
    CHECK(pcnn_model_class(m, "3") == -1 && strstr(pcnn_errstr(), "not below the model's 3"), "%s", pcnn_errstr());
    CHECK(pcnn_model_class(m, "boot") == -1 && strstr(pcnn_errstr(), "numbers, not names"), "%s", pcnn_errstr());
    static const char *names[] = {"boot", "s2", "s10"};
    CHECK(pcnn_model_set_class_names(m, names, 2) == -1 && strstr(pcnn_errstr(), "2 class names for a model of 3"),
          "%s", pcnn_errstr());
    CHECK(pcnn_model_set_class_names(m, (const char *[]){"a", "b", "a"}, 3) == -1, "duplicates taken");
    CHECK(pcnn_model_set_class_names(m, names, 3) == 0, "set names: %s", pcnn_errstr());
    CHECK(pcnn_model_class(m, "s10") == 2 && pcnn_model_class(m, "boot") == 0 && pcnn_model_class(m, "1") == 1,
          "class by name");
    CHECK(pcnn_model_class(m, "sandal") == -1 && strstr(pcnn_errstr(), "no class of the model is named 'sandal'"),
          "%s", pcnn_errstr());
    CHECK(pcnn_model_class(m, "99999999999999999999") == -1, "a huge number");

    CHECK(pcnn_model_save(m, tp("n.pcnn")) == 0, "save: %s", pcnn_errstr());
    pcnn_model *b = pcnn_model_load(cpu, tp("n.pcnn"));
    const char *const *got = b ? pcnn_model_class_names(b) : NULL;
    CHECK(got && !strcmp(got[0], "boot") && !strcmp(got[1], "s2") && !strcmp(got[2], "s10"), "loaded names: %s",
          pcnn_errstr());
    pcnn_st st;
    CHECK(pcnn_st_read(&st, tp("n.pcnn")) == 0 && pcnn_st_meta(&st, "class_names") &&
          !strcmp(pcnn_st_meta(&st, "class_names"), "boot\ns2\ns10"), "class_names in the file");
    pcnn_st_free(&st);

    /* a checkpoint keeps them (a resumed run maps its labels through them) */
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    pcnn_trainer *t = b ? pcnn_trainer_new(b, &o) : NULL;
    CHECK(t && pcnn_trainer_save(t, tp("c.pcnn")) == 0, "checkpoint: %s", pcnn_errstr());
    pcnn_model *c = pcnn_model_load(cpu, tp("c.pcnn"));
    got = c ? pcnn_model_class_names(c) : NULL;
    CHECK(got && !strcmp(got[2], "s10"), "names after a checkpoint: %s", pcnn_errstr());
    pcnn_trainer_free(t);
    pcnn_model_free(c);

    /* taken away: an older model's file, which loads with numbered classes */
    CHECK(pcnn_model_set_class_names(b, NULL, 0) == 0 && pcnn_model_class_names(b) == NULL, "names taken away");
    CHECK(pcnn_model_save(b, tp("plain.pcnn")) == 0, "save: %s", pcnn_errstr());
    CHECK(pcnn_st_read(&st, tp("plain.pcnn")) == 0 && !pcnn_st_meta(&st, "class_names"), "class_names without names");
    pcnn_st_free(&st);
    pcnn_model_free(b);
    b = pcnn_model_load(cpu, tp("plain.pcnn"));
    CHECK(b && pcnn_model_class_names(b) == NULL, "a file without class_names: %s", pcnn_errstr());
    pcnn_model_free(b);
    pcnn_model_free(m);
}

/* n.pcnn (test_model) with class_names set to val (NULL: as it is) and classes to cls */
static void expect_bad_file(const char *val, const char *cls, const char *want)
{
    pcnn_st st;
    if (pcnn_st_read(&st, tp("n.pcnn"))) {
        CHECK(0, "read n.pcnn: %s", pcnn_errstr());
        return;
    }
    for (int i = 0; i < st.nmeta; i++) {
        const char *v = !strcmp(st.meta_keys[i], "class_names") ? val
                        : cls && (!strcmp(st.meta_keys[i], "classes") || !strcmp(st.meta_keys[i], "cond_size")) ? cls
                                                                                                               : NULL;
        if (!v) continue;
        free(st.meta_vals[i]);
        st.meta_vals[i] = strdup(v);
    }
    CHECK(pcnn_st_write(&st, tp("bad.pcnn")) == 0, "write: %s", pcnn_errstr());
    pcnn_st_free(&st);
    pcnn_model *m = pcnn_model_load(cpu, tp("bad.pcnn"));
    CHECK(m == NULL, "class_names '%s' loaded", val ? val : "(as saved)");
    CHECK(strstr(pcnn_errstr(), "bad.pcnn: metadata 'class_names'") && strstr(pcnn_errstr(), want),
          "message '%s' lacks '%s'", pcnn_errstr(), want);
    pcnn_model_free(m);
}

static void test_hostile_files(void)
{
    expect_bad_file("boot\ns2", NULL, "2 class names for 3 classes");
    expect_bad_file("boot\ns2\ns10\nx", NULL, "4 class names for 3 classes");
    expect_bad_file("boot\nboot\ns10", NULL, "appears twice");
    expect_bad_file("boot\n12\ns10", NULL, "digits");
    expect_bad_file("boot\ns\t2\ns10", NULL, "control character");
    expect_bad_file("boot\n\ns10", NULL, "empty");
    char huge[3 * 100 + 3];
    memset(huge, 'x', sizeof huge - 1);
    huge[100] = huge[201] = '\n';
    huge[sizeof huge - 1] = 0;
    huge[0] = 'a', huge[101] = 'b'; /* three names of 100 bytes, all different */
    expect_bad_file(huge, NULL, "more than 64");
    /* a model without classes with names: refused whatever they are */
    pcnn_hparams hp = {.L = 1, .p = 4, .n = 3, .C = 1, .H = 4, .W = 4, .K = 4};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 1);
    pcnn_st out = {0};
    int rc = m ? pcnn_modelfile_build(&out, m, m->w) : -1;
    if (!rc) {
        out.meta_keys[out.nmeta] = strdup("class_names");
        out.meta_vals[out.nmeta] = strdup("a");
        out.nmeta++;
        rc = pcnn_st_write(&out, tp("u.pcnn"));
    }
    pcnn_st_free(&out);
    pcnn_model_free(m);
    CHECK(rc == 0, "write u.pcnn: %s", pcnn_errstr());
    m = pcnn_model_load(cpu, tp("u.pcnn"));
    CHECK(m == NULL && strstr(pcnn_errstr(), "a model without classes"), "names without classes: %s", pcnn_errstr());
    pcnn_model_free(m);
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_names.XXXXXX");
    if (!cpu || !mkdtemp(tmpdir)) {
        fprintf(stderr, "%s\n", cpu ? "mkdtemp failed" : pcnn_errstr());
        return 2;
    }
    test_name_rules();
    test_order();
    test_table();
    test_model();
    test_hostile_files();
    static const char *files[] = {"n.pcnn", "c.pcnn", "plain.pcnn", "bad.pcnn", "u.pcnn"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) unlink(tp(files[i]));
    rmdir(tmpdir);
    pcnn_backend_close(cpu);
    return check_summary("test_names");
}
