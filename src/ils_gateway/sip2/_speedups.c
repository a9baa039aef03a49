/* Compiled helpers of the SIP2 parser (ils_gateway.sip2.speedups: the pure-Python twins).
 *
 * byte_sum(data)                 sum(data) (the AZ checksum's total)
 * split_fields(text, start, end) the variable fields of text[start:end] as (id, value) pairs,
 *                                or None when a field is too short to have an id
 * parse_body(cls, plan, tail, text, pos, data, mode)
 *                                the rest of a parse once the fixed fields have matched the
 *                                class's pattern: the trailer, the AZ check (mode 0: none,
 *                                1: when present, 2: required), the split, and a message
 *                                object of cls, its fixed fields read from text by plan and
 *                                its four tail slots set, in one call, for a frame without
 *                                faults; None for any other (the caller then names the fault)
 *
 * A plan is a tuple of (slot descriptor, start, end, op, arg) entries; op is one of the OP_*
 * constants below (speedups.py builds plans from the fixed-field kinds). tail is the tuple of
 * slot descriptors for fields, sequence, checksum and last_field_terminated.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

enum { OP_STR = 0, OP_EQ = 1, OP_LOOKUP = 2, OP_NUMBER = 3, OP_RAW = 4 };

static PyObject *
byte_sum(PyObject *module, PyObject *data)
{
    (void)module;
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "byte_sum(data: bytes)");
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    unsigned long long total = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        total += p[i];
    return PyLong_FromUnsignedLongLong(total);
}

/* Two-character ASCII field ids, made once and shared (most frames use a few dozen). */
static PyObject *ids[128 * 128];

static PyObject *
field_id(PyObject *text, int kind, const void *data, Py_ssize_t at)
{
    Py_UCS4 a = PyUnicode_READ(kind, data, at), b = PyUnicode_READ(kind, data, at + 1);
    if (a >= 128 || b >= 128)
        return PyUnicode_Substring(text, at, at + 2);
    PyObject **slot = &ids[a * 128 + b];
    if (*slot == NULL) {
        *slot = PyUnicode_Substring(text, at, at + 2);
        if (*slot == NULL)
            return NULL;
        PyUnicode_InternInPlace(slot);
    }
    Py_INCREF(*slot);
    return *slot;
}

/* The (id, value) pairs of text[start:end] (end > start; a trailing "|" already dropped),
 * or NULL without an exception set when a field is too short for an id. */
static PyObject *
split(PyObject *text, Py_ssize_t start, Py_ssize_t end)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t count = 1;
    for (Py_ssize_t i = start; i < end; i++)
        if (PyUnicode_READ(kind, data, i) == '|')
            count++;
    PyObject *fields = PyTuple_New(count);
    if (fields == NULL)
        return NULL;
    Py_ssize_t seg = start, n = 0;
    for (Py_ssize_t i = start; i <= end; i++) {
        if (i < end && PyUnicode_READ(kind, data, i) != '|')
            continue;
        if (i - seg < 2) {
            Py_DECREF(fields);
            return NULL;
        }
        PyObject *fid = field_id(text, kind, data, seg);
        PyObject *value = fid ? PyUnicode_Substring(text, seg + 2, i) : NULL;
        PyObject *pair = value ? PyTuple_New(2) : NULL;
        if (pair == NULL) {
            Py_XDECREF(fid);
            Py_XDECREF(value);
            Py_DECREF(fields);
            return NULL;
        }
        PyTuple_SET_ITEM(pair, 0, fid);
        PyTuple_SET_ITEM(pair, 1, value);
        PyTuple_SET_ITEM(fields, n++, pair);
        seg = i + 1;
    }
    return fields;
}

static PyObject *
split_fields(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "split_fields(text: str, start: int, end: int)");
        return NULL;
    }
    PyObject *text = args[0];
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    Py_ssize_t end = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return NULL;
    if (start < 0 || end > PyUnicode_GET_LENGTH(text) || start > end) {
        PyErr_SetString(PyExc_ValueError, "start/end out of range");
        return NULL;
    }
    if (start == end)
        return PyTuple_New(0);
    if (PyUnicode_READ_CHAR(text, end - 1) == '|')
        end--; /* the last field's own "|" */
    PyObject *fields = split(text, start, end);
    if (fields == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return fields;
}

static int
set_slot(PyObject *descr, PyObject *obj, PyObject *value)
{
    descrsetfunc set = Py_TYPE(descr)->tp_descr_set;
    if (set == NULL) {
        PyErr_SetString(PyExc_TypeError, "plan entry is not a slot descriptor");
        return -1;
    }
    return set(descr, obj, value);
}

static PyObject *
new_instance(PyObject *cls)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "expected a class");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    return type->tp_alloc(type, 0);
}

static PyObject *
fixed_value(PyObject *text, Py_ssize_t start, Py_ssize_t end, long op, PyObject *arg)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    switch (op) {
    case OP_STR:
        return PyUnicode_Substring(text, start, end);
    case OP_EQ: {
        long want = PyLong_AsLong(arg);
        if (want == -1 && PyErr_Occurred())
            return NULL;
        return PyBool_FromLong((long)PyUnicode_READ(kind, data, start) == want);
    }
    case OP_LOOKUP: {
        PyObject *key = PyUnicode_Substring(text, start, end);
        if (key == NULL)
            return NULL;
        PyObject *value = PyObject_GetItem(arg, key);
        Py_DECREF(key);
        return value;
    }
    case OP_NUMBER: {
        long long n = 0;
        int blank = 1;
        for (Py_ssize_t i = start; i < end; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (c == ' ')
                continue;
            blank = 0;
            if (c < '0' || c > '9') {
                PyErr_SetString(PyExc_ValueError, "expected digits");
                return NULL;
            }
        }
        if (blank)
            Py_RETURN_NONE;
        for (Py_ssize_t i = start; i < end; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (c < '0' || c > '9') {
                PyErr_SetString(PyExc_ValueError, "expected digits");
                return NULL;
            }
            n = n * 10 + (long long)(c - '0');
        }
        return PyLong_FromLongLong(n);
    }
    case OP_RAW: {
        /* arg: (class, its "raw" slot descriptor) */
        if (!PyTuple_Check(arg) || PyTuple_GET_SIZE(arg) != 2) {
            PyErr_SetString(PyExc_TypeError, "OP_RAW needs (class, descriptor)");
            return NULL;
        }
        PyObject *raw = PyUnicode_Substring(text, start, end);
        if (raw == NULL)
            return NULL;
        PyObject *obj = new_instance(PyTuple_GET_ITEM(arg, 0));
        if (obj == NULL || set_slot(PyTuple_GET_ITEM(arg, 1), obj, raw) < 0) {
            Py_XDECREF(obj);
            Py_DECREF(raw);
            return NULL;
        }
        Py_DECREF(raw);
        return obj;
    }
    }
    PyErr_Format(PyExc_ValueError, "unknown plan op %ld", op);
    return NULL;
}

/* A message of cls: fixed fields from text by plan, then the four tail slots. */
static PyObject *
make_message(PyObject *cls, PyObject *plan, PyObject *tail, PyObject *text,
             PyObject *const *tail_values)
{
    if (!PyTuple_Check(plan) || !PyTuple_Check(tail) || PyTuple_GET_SIZE(tail) != 4 ||
        !PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "plan and tail must be tuples, text a str");
        return NULL;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *obj = new_instance(cls);
    if (obj == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(plan);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *entry = PyTuple_GET_ITEM(plan, i);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 5) {
            PyErr_SetString(PyExc_TypeError, "plan entries are 5-tuples");
            goto fail;
        }
        Py_ssize_t start = PyLong_AsSsize_t(PyTuple_GET_ITEM(entry, 1));
        Py_ssize_t end = PyLong_AsSsize_t(PyTuple_GET_ITEM(entry, 2));
        long op = PyLong_AsLong(PyTuple_GET_ITEM(entry, 3));
        if (PyErr_Occurred())
            goto fail;
        if (start < 0 || end > length || start >= end) {
            PyErr_SetString(PyExc_ValueError, "fixed field outside the text");
            goto fail;
        }
        PyObject *value = fixed_value(text, start, end, op, PyTuple_GET_ITEM(entry, 4));
        if (value == NULL)
            goto fail;
        int rc = set_slot(PyTuple_GET_ITEM(entry, 0), obj, value);
        Py_DECREF(value);
        if (rc < 0)
            goto fail;
    }
    for (Py_ssize_t i = 0; i < 4; i++)
        if (set_slot(PyTuple_GET_ITEM(tail, i), obj, tail_values[i]) < 0)
            goto fail;
    return obj;
fail:
    Py_DECREF(obj);
    return NULL;
}

static int
hex_value(Py_UCS4 c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    return -1;
}

/* parse_body(cls, plan, tail, text, pos, data, mode): the message whose fixed fields end at
 * pos, for a frame read in the common way: its trailer well formed, its AZ checksum (over
 * data, the frame's bytes) right, every variable field long enough for an id. None when
 * anything is otherwise: the caller then reads the frame step by step and names the fault.
 * mode: 0 checksum not verified, 1 verified when present, 2 verified and required. */
static PyObject *
parse_body(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 7 || !PyUnicode_Check(args[3]) || !PyBytes_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "parse_body(cls, plan, tail, text: str, pos, data: bytes, mode)");
        return NULL;
    }
    PyObject *text = args[3], *data = args[5];
    Py_ssize_t pos = PyLong_AsSsize_t(args[4]);
    long mode = PyLong_AsLong(args[6]);
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    if (pos < 0 || pos > length) {
        PyErr_SetString(PyExc_ValueError, "pos out of range");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *chars = PyUnicode_DATA(text);
    Py_ssize_t body_end = length;
    long sequence = -1, stated = -1;
    if (length - pos >= 6 && PyUnicode_READ(kind, chars, length - 6) == 'A' &&
        PyUnicode_READ(kind, chars, length - 5) == 'Z') {
        stated = 0;
        for (Py_ssize_t i = length - 4; i < length; i++) {
            int h = hex_value(PyUnicode_READ(kind, chars, i));
            if (h < 0) {
                stated = -1;
                break;
            }
            stated = stated * 16 + h;
        }
        if (stated >= 0) {
            body_end = length - 6;
            if (body_end - pos >= 3 && PyUnicode_READ(kind, chars, body_end - 3) == 'A' &&
                PyUnicode_READ(kind, chars, body_end - 2) == 'Y') {
                Py_UCS4 digit = PyUnicode_READ(kind, chars, body_end - 1);
                if (digit < '0' || digit > '9')
                    Py_RETURN_NONE;
                sequence = (long)(digit - '0');
                body_end -= 3;
            }
        }
    }
    if (mode != 0) {
        if (stated < 0) {
            if (mode == 2)
                Py_RETURN_NONE;
        }
        else {
            Py_ssize_t n = PyBytes_GET_SIZE(data) - 4;
            const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(data);
            unsigned long long total = 0;
            for (Py_ssize_t i = 0; i < n; i++)
                total += p[i];
            if ((total + (unsigned long long)stated) & 0xFFFF)
                Py_RETURN_NONE;
        }
    }
    PyObject *tail_values[4] = {NULL, NULL, NULL, Py_True};
    PyObject *fields;
    if (body_end > pos) {
        Py_ssize_t end = body_end;
        if (PyUnicode_READ(kind, chars, end - 1) == '|')
            end--;
        else
            tail_values[3] = Py_False;
        fields = split(text, pos, end);
        if (fields == NULL) {
            if (PyErr_Occurred())
                return NULL;
            Py_RETURN_NONE;
        }
    }
    else {
        fields = PyTuple_New(0);
        if (fields == NULL)
            return NULL;
    }
    PyObject *seq = sequence >= 0 ? PyLong_FromLong(sequence) : Py_NewRef(Py_None);
    PyObject *checksum =
        stated >= 0 ? PyUnicode_Substring(text, length - 4, length) : Py_NewRef(Py_None);
    PyObject *message = NULL;
    if (seq != NULL && checksum != NULL) {
        tail_values[0] = fields;
        tail_values[1] = seq;
        tail_values[2] = checksum;
        message = make_message(args[0], args[1], args[2], text, tail_values);
    }
    Py_DECREF(fields);
    Py_XDECREF(seq);
    Py_XDECREF(checksum);
    return message;
}

static PyMethodDef methods[] = {
    {"byte_sum", byte_sum, METH_O, "byte_sum(data): sum(data)."},
    {"split_fields", (PyCFunction)(void (*)(void))split_fields, METH_FASTCALL,
     "split_fields(text, start, end): (id, value) pairs of text[start:end], or None."},
    {"parse_body", (PyCFunction)(void (*)(void))parse_body, METH_FASTCALL,
     "parse_body(cls, plan, tail, text, pos, data, mode): the message, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "Compiled helpers of the SIP2 parser.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "ABI_VERSION", 2) < 0 ||
        PyModule_AddIntConstant(m, "OP_STR", OP_STR) < 0 ||
        PyModule_AddIntConstant(m, "OP_EQ", OP_EQ) < 0 ||
        PyModule_AddIntConstant(m, "OP_LOOKUP", OP_LOOKUP) < 0 ||
        PyModule_AddIntConstant(m, "OP_NUMBER", OP_NUMBER) < 0 ||
        PyModule_AddIntConstant(m, "OP_RAW", OP_RAW) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
