from claude_magic.view.throttle import Throttle


def test_throttle_lets_the_first_through_then_one_per_interval():
    now = [0.0]
    throttle = Throttle(0.1, clock=lambda: now[0])
    passed = []
    for step in range(100):  # 1 s in 10 ms steps
        now[0] = step * 0.01
        passed.append(throttle.ready())
    assert passed[0] and 9 <= sum(passed) <= 11
