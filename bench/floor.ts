// The floor: the smallest program bun can compile, built with the same flags as hermes.
console.log("hello");
