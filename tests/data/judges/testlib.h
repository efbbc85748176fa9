// A small stand-in for testlib.h, written for grpo-ext's tests: the calls our example checkers
// use (registerTestlibCmd, registerInteraction, inf/ouf/ans, readLong, readToken, seekEof,
// quitf, quitp) with testlib's exit codes. It is NOT testlib.h; real checkers ship the real
// header in the row's checker "files".
#pragma once
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

enum TResult { _ok = 0, _wa = 1, _pe = 2, _fail = 3, _dirt = 4, _points = 7, _unexpected_eof = 8 };

static FILE* __result_file = nullptr;

[[noreturn]] inline void __finish(int code, const std::string& message) {
    FILE* out = __result_file ? __result_file : stderr;
    std::fprintf(out, "%s\n", message.c_str());
    if (__result_file) std::fclose(__result_file);
    std::exit(code);
}

[[noreturn]] inline void quitf(TResult result, const char* format, ...) {
    char buffer[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    __finish(result, buffer);
}

[[noreturn]] inline void quitp(double points, const char* message = "") {
    char buffer[1100];
    std::snprintf(buffer, sizeof buffer, "points %.6f %s", points, message);
    __finish(_points, buffer);
}

struct InStream {
    FILE* file = nullptr;
    TResult on_error = _pe;  // the contestant's stream: a malformed value is a presentation error
    void open(const char* path, TResult error) {
        file = std::fopen(path, "r");
        on_error = error;
        if (!file) quitf(_fail, "cannot open %s", path);
    }
    bool seekEof() {
        int c;
        while ((c = std::fgetc(file)) != EOF)
            if (!std::isspace(c)) { std::ungetc(c, file); return false; }
        return true;
    }
    std::string readToken() {
        if (seekEof()) quitf(on_error == _pe ? _unexpected_eof : _fail, "unexpected end of file");
        std::string token;
        int c;
        while ((c = std::fgetc(file)) != EOF && !std::isspace(c)) token += char(c);
        return token;
    }
    long long readLong() {
        std::string token = readToken();
        char* end = nullptr;
        long long value = std::strtoll(token.c_str(), &end, 10);
        if (token.empty() || *end != '\0') quitf(on_error, "expected an integer, found '%.40s'", token.c_str());
        return value;
    }
};

static InStream inf, ouf, ans;

inline void registerTestlibCmd(int argc, char* argv[]) {
    if (argc < 4) quitf(_fail, "usage: checker input output answer [result]");
    if (argc > 4) __result_file = std::fopen(argv[4], "w");
    inf.open(argv[1], _fail);
    ouf.open(argv[2], _pe);
    ans.open(argv[3], _fail);
}

inline void registerInteraction(int argc, char* argv[]) {
    if (argc < 3) quitf(_fail, "usage: interactor input output [answer [result]]");
    if (argc > 4) __result_file = std::fopen(argv[4], "w");
    inf.open(argv[1], _fail);
    ouf.file = stdin;  // what the contestant writes
    ouf.on_error = _pe;
}
