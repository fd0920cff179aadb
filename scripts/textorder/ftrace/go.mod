module hako-textorder-ftrace

go 1.26
